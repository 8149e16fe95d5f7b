/**
 * Child process for the crash test: writes a runtime export of many big files so that the parent
 * can SIGKILL it in the middle. argv: <auditDir> <fileCount> <fileMiB>
 */
import { writeRuntimeExport } from '../../../../src/report/runtime-export.js';

const [auditDir, count, mib] = process.argv.slice(2);
if (auditDir === undefined || count === undefined || mib === undefined) throw new Error('usage: write-big-export <auditDir> <fileCount> <fileMiB>');
const content = 'x'.repeat(Number(mib) * 1024 * 1024);
const files = Array.from({ length: Number(count) }, (_, i) => ({ name: `big-${String(i).padStart(3, '0')}.txt`, content }));
await writeRuntimeExport({ auditDir, now: new Date(), files, retention: 200 });
