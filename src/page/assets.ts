/**
 * The page's only stylesheet and script, served from /assets/ (same origin, so the CSP needs no
 * inline allowance). The script is progressive enhancement: without it the page refreshes by
 * `<meta http-equiv="refresh">` inside `<noscript>`; with it, the page re-fetches itself and
 * swaps `<main>` in place, so the scroll position and an open form stay where they are.
 */

export const PAGE_JS = `(() => {
  const main = document.querySelector('main[data-refresh]');
  if (!main) return;
  const every = Math.max(5, Number(main.dataset.refresh) || 15) * 1000;
  const busy = () => {
    const a = document.activeElement;
    return document.hidden || (a && a.matches('input,select,textarea') && main.contains(a));
  };
  const tick = async () => {
    if (busy()) return;
    try {
      const r = await fetch(location.href, { credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok || !(r.headers.get('content-type') || '').startsWith('text/html')) return;
      const fresh = new DOMParser().parseFromString(await r.text(), 'text/html').querySelector('main[data-refresh]');
      if (fresh && !busy()) main.replaceChildren(...fresh.childNodes);
    } catch (e) { /* offline for a moment: try again next time */ }
  };
  setInterval(tick, every);
})();
`;

export const PAGE_CSS = `:root{--fg:#1b1f24;--muted:#555d66;--bg:#fff;--line:#d0d7de;--link:#0b57d0;--ok-bg:#dff3e4;--ok-fg:#0d5a26;--warn-bg:#fff1c7;--warn-fg:#6b4a00;--bad-bg:#fde2e1;--bad-fg:#8c1510;--busy-bg:#dde9fb;--busy-fg:#123f85;--none-bg:#eceff2;--none-fg:#3b434c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,[tabindex]:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:2}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.top{display:flex;flex-wrap:wrap;gap:12px 24px;align-items:center;padding:10px 16px;border-bottom:1px solid var(--line);background:#f6f8fa}
header.top .brand{margin:0;font-weight:600}
header.top nav ul{display:flex;gap:16px;list-style:none;margin:0;padding:0}
header.top nav a[aria-current=page]{font-weight:700;text-decoration:none;color:var(--fg)}
header.top .logout{margin-left:auto}
main{padding:12px 16px 32px;max-width:1400px}
h1{font-size:1.5rem;margin:.6em 0 .4em}h2{font-size:1.2rem;margin:1.4em 0 .4em}
.muted{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:6px 18px;margin:0 0 8px}
dl.facts div{min-width:0}dl.facts dt{font-size:.8rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}dl.facts dd{margin:0;overflow-wrap:anywhere}
ul.inline{margin:0;padding-left:1.1em}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-weight:600;padding:8px 10px}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-top:1px solid var(--line)}
thead th{background:#f6f8fa;font-size:.85rem;white-space:nowrap}
tbody th{font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85rem;font-weight:600;white-space:nowrap;border:1px solid currentColor}
.tone-ok{background:var(--ok-bg);color:var(--ok-fg)}.tone-warn{background:var(--warn-bg);color:var(--warn-fg)}.tone-bad{background:var(--bad-bg);color:var(--bad-fg)}.tone-busy{background:var(--busy-bg);color:var(--busy-fg)}.tone-none{background:var(--none-bg);color:var(--none-fg)}
.reason,.message{overflow-wrap:anywhere}
.pin{font-size:.8rem;color:var(--warn-fg)}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.kind{font-family:ui-monospace,monospace}
ol.findings{padding-left:1.2em}li.finding{margin-bottom:14px}li.finding p{margin:.2em 0}
pre.diff,pre.log{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px;overflow-x:auto;max-height:32em;margin:.4em 0}
pre span{display:block;white-space:pre}
.d-add{background:#e6ffec;color:#0d4d1f}.d-del{background:#ffebe9;color:#82071e}.d-hunk{color:#5a32a3;background:#f3eefc}.d-file{font-weight:700;color:#24292f}.d-meta{color:var(--muted)}.d-key{color:#0a3069;font-weight:600}
.note{padding:8px 12px;border-radius:6px;background:var(--warn-bg);color:var(--warn-fg)}.note.bad{background:var(--bad-bg);color:var(--bad-fg)}.note.ok{background:var(--ok-bg);color:var(--ok-fg)}
form.filters{display:flex;flex-wrap:wrap;gap:10px 16px;align-items:flex-end;margin-bottom:12px}
.field{display:flex;flex-direction:column;gap:2px}
label{font-size:.85rem;font-weight:600}
input,select,button{font:inherit;padding:5px 8px;border:1px solid #8c959f;border-radius:6px;background:#fff;color:var(--fg)}
button{background:#0b57d0;color:#fff;border-color:#0b57d0;cursor:pointer}
form.login,section.approve form{display:flex;flex-wrap:wrap;gap:8px;align-items:center;max-width:40em}
section.approve{border:1px solid var(--line);border-radius:6px;padding:4px 14px 12px;margin:12px 0}
@media (max-width:700px){body{font-size:14px}main{padding:8px}th,td{padding:5px 6px}dl.facts{grid-template-columns:1fr 1fr}}
@media print{header.top nav,header.top .logout,.skip,form,section.approve form,.updated{display:none}main{max-width:none;padding:0}.table-wrap{overflow:visible;border:0}pre.diff,pre.log{max-height:none;overflow:visible;white-space:pre-wrap}pre span{white-space:pre-wrap}a{color:inherit;text-decoration:none}.badge{border:1px solid #000}}
`;
