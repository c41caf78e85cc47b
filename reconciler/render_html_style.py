"""The HTML plan's stylesheet, inlined into the page (a self-contained file loads nothing).

Kept apart from `reconciler.render_html` so the markup reads on its own. Colours follow the
text plan's symbols: green create/added, amber update/caption changes, cyan clone, purple
replace, red delete/removed. Long names and captions wrap anywhere, so nothing overflows.
"""

PAGE_STYLE = """
:root {
  --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --paper: #ffffff; --bg: #f6f7f9;
  --create: #1a7f37; --update: #b35c00; --clone: #0b7285; --replace: #7048e8;
  --delete: #c92a2a; --noop: #868e96;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body {
  margin: 0; color: var(--ink); overflow-wrap: anywhere;
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
    Arial, sans-serif;
}
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
header.top { background: var(--ink); color: #fff; padding: 24px 32px; }
header.top h1 { margin: 0 0 12px; font-size: 22px; font-weight: 600; letter-spacing: .2px; }
.summary { margin: 0; display: flex; flex-wrap: wrap; gap: 8px; }
.summary.nochange { font-size: 16px; }
.chip {
  display: inline-block; padding: 3px 12px; border-radius: 999px; font-size: 13px;
  background: rgba(255,255,255,.12); border: 1px solid rgba(255,255,255,.25);
}
.chip b { font-size: 15px; margin-right: 2px; }
.chip.zero { opacity: .45; }
.chip.create { border-color: #6fdc8c; } .chip.update { border-color: #ffb454; }
.chip.clone { border-color: #66d9e8; } .chip.replace { border-color: #b197fc; }
.chip.delete { border-color: #ff8787; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 8px; }
.alerts { margin-bottom: 20px; }
.alert { margin: 0 0 8px; padding: 10px 14px; border-radius: 8px; border-left: 4px solid; }
.alert.error { background: #fff0f0; border-color: var(--delete); }
.alert.warn { background: #fff8e6; border-color: #f59f00; }
section.training, nav.contents, section.change, details {
  background: var(--paper); border: 1px solid var(--line); border-radius: 12px;
  padding: 16px 20px; margin: 0 0 20px;
}
h2 { font-size: 17px; margin: 0 0 8px; font-weight: 600; }
h3 { font-size: 14px; margin: 18px 0 10px; color: var(--muted); font-weight: 600;
  text-transform: uppercase; letter-spacing: .6px; }
nav.contents ul { margin: 0; padding: 0; list-style: none; columns: 2 320px; }
nav.contents li { margin: 2px 0; }
nav.contents a { color: var(--ink); text-decoration: none; }
nav.contents a:hover { text-decoration: underline; }
.sym {
  display: inline-block; min-width: 2.2em; padding: 0 6px; margin-right: 4px;
  border-radius: 6px; color: #fff; text-align: center; font: 600 13px/1.6 ui-monospace,
    Menlo, Consolas, monospace;
}
.sym.create { background: var(--create); } .sym.update { background: var(--update); }
.sym.clone { background: var(--clone); } .sym.replace { background: var(--replace); }
.sym.delete { background: var(--delete); } .sym.noop { background: var(--noop); }
.action { color: var(--muted); font-weight: 400; font-size: 14px; }
.tag {
  display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 11px;
  font-weight: 500; line-height: 1.7; vertical-align: 1px; background: #eef1f5;
  color: var(--muted);
}
.tag.drift { background: #fff3bf; color: #8a5a00; }
.tag.source.manual { background: #e7f5ff; color: #1864ab; }
.tag.source.automatic { background: #f1f3f5; color: #495057; }
.reason { margin: 0 0 10px; }
ul.fields { margin: 0 0 8px; padding-left: 18px; color: var(--muted); }
.counts { margin: 6px 0 0; color: var(--muted); font-size: 14px; }
.count.added { color: var(--create); } .count.changed { color: var(--clone); }
.count.removed { color: var(--delete); } .count.captions { color: var(--update); }
h3.group.added { color: var(--create); } h3.group.changed { color: var(--clone); }
h3.group.removed { color: var(--delete); } h3.group.captions { color: var(--update); }
.grid {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 14px;
}
figure.image {
  margin: 0; border: 1px solid var(--line); border-radius: 10px; overflow: hidden;
  background: var(--paper); border-top: 4px solid var(--noop);
}
figure.image.added { border-top-color: var(--create); }
figure.image.changed { border-top-color: var(--clone); }
figure.image.removed { border-top-color: var(--delete); }
figure.image.captions { border-top-color: var(--update); }
figure.image img {
  display: block; width: 100%; height: auto; aspect-ratio: 1; object-fit: contain;
  background: #f1f3f5;
}
figure.image.removed img { opacity: .7; }
figcaption { padding: 8px 10px 10px; font-size: 13px; }
.name { display: block; font-weight: 600; font-size: 12px; color: var(--muted); }
.note { display: block; color: var(--delete); font-size: 12px; }
.cap { margin: 4px 0 0; }
.cap.old { color: var(--muted); }
.cap.gone { color: var(--muted); text-decoration: line-through; }
.label { font-size: 11px; text-transform: uppercase; letter-spacing: .5px; }
.auto { color: var(--muted); font-style: italic; }
.sources { margin: 6px 0 0; font-size: 12px; color: var(--muted); }
details.whole { margin: 6px 0 0; padding: 0; border: 0; background: none; font-size: 12px; }
details.whole summary { font-weight: 500; color: var(--muted); }
del { background: #ffe3e3; color: #a61e1e; text-decoration: line-through; }
ins { background: #d3f9d8; color: #1b5e20; text-decoration: none; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
  font-size: 14px; vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
.budget { margin: 8px 0 0; }
.ops-count { margin: 12px 0 0; color: var(--muted); font-size: 13px; }
details summary { cursor: pointer; font-weight: 600; }
details ol, details ul { margin: 10px 0 0; padding-left: 22px; font-size: 14px; }
details li { margin: 2px 0; }
.after { color: var(--muted); font-size: 12px; }
footer { max-width: 1200px; margin: 0 auto; padding: 0 32px 32px; color: var(--muted);
  font-size: 13px; }
"""
