import { paint, oneLine, type Style } from './text.js';

export interface Cell {
  text: string;
  style?: Style;
}

/** Left-aligned columns two spaces apart; padding is computed on the plain text, then coloured. */
export function renderRows(rows: Cell[][], color: boolean): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.text.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = i === row.length - 1 ? '' : ' '.repeat((widths[i] ?? 0) - cell.text.length + 2);
        return paint(cell.text, cell.style, color) + pad;
      })
      .join(''),
  );
}

/** Plain text columns with a header row, for status, history and sync output. */
export function formatColumns(header: string[], rows: string[][]): string {
  const cells = [header, ...rows].map((row) => row.map((text) => ({ text: oneLine(text) })));
  return `${renderRows(cells, false).join('\n')}\n`;
}
