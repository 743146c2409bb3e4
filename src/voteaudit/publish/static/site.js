/* voteaudit publication: find a table by code or place, show every source's numbers and prove them. */
'use strict';
(function () {
  const VA = window.VA, el = VA.el;
  const $ = function (id) { return document.getElementById(id); };
  let meta = null;

  function levelName(k) { return (meta && meta.levels[k]) || 'unit'; }
  function isTable(k) { return meta && k === meta.levels.length - 1; }
  function setState(node, state, text) { node.setAttribute('data-state', state); node.textContent = text; }

  async function search(q) {
    const found = new Map();
    const add = function (e) { const id = e[1] || e[0]; if (!found.has(id)) found.set(id, e); };
    const code = VA.code(q);
    if (code && /[0-9.]/.test(q)) (await VA.blockSearch('search', code, 50)).forEach(add);
    const ws = VA.words(q).sort(function (a, b) { return b.length - a.length; });
    if (ws.length) {
      for (const e of await VA.blockSearch('search', ws[0], 400)) {
        const have = VA.words(e[3] + ' ' + (e[1] || e[0]));
        if (ws.every(function (w) { return have.some(function (h) { return h.startsWith(w); }); })) add(e);
      }
    }
    return Array.from(found.values()).slice(0, 50);
  }

  function resultItem(e) {
    const id = e[1] || e[0];
    const li = el('li');
    const a = el('a', { href: VA.unitHref(id), class: 'unit-link' }, (e[3] || id));
    li.appendChild(a);
    li.appendChild(el('span', { class: 'muted' }, ' ' + levelName(e[2]) + ' · ' + id));
    return li;
  }

  async function runSearch(ev) {
    if (ev) ev.preventDefault();
    const q = $('q').value.trim(), list = $('results');
    list.textContent = '';
    if (!q) return;
    setState($('search-status'), 'busy', 'Searching…');
    try {
      const hits = await search(q);
      hits.forEach(function (e) { list.appendChild(resultItem(e)); });
      setState($('search-status'), hits.length ? 'ok' : 'none',
        hits.length ? hits.length + ' match' + (hits.length > 1 ? 'es' : '') : 'Nothing matches “' + q + '”.');
    } catch (err) {
      setState($('search-status'), 'error', 'Search failed: ' + err.message);
    }
  }

  function crumbs(ancestors) {
    const nav = el('nav', { class: 'crumbs' });
    ancestors.forEach(function (a, k) {
      if (k) nav.appendChild(document.createTextNode(' › '));
      nav.appendChild(el('a', { href: VA.unitHref(a[0]) }, a[1] || a[0]));
    });
    return nav;
  }

  function sheetNode(url) {
    const box = el('p', { class: 'sheet' });
    if (/^[A-Za-z0-9_][A-Za-z0-9._\-\/]*$/.test(url) && url.split('/').indexOf('..') < 0) {
      const a = el('a', { href: url });
      a.appendChild(el('img', { src: url, alt: 'Tally sheet image', loading: 'lazy' }));
      box.appendChild(a);
    } else if (/^https?:\/\//i.test(url)) {
      box.appendChild(document.createTextNode('Tally sheet image (external site, not loaded here): '));
      box.appendChild(el('a', { href: url, rel: 'noopener noreferrer nofollow', target: '_blank' }, url));
    } else {
      box.appendChild(document.createTextNode('Tally sheet: ' + url));
    }
    return box;
  }

  function fmt(v) { return v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US'); }

  function numbersTable(recs) {
    const table = el('table', { class: 'numbers', id: 'numbers' });
    const head = el('tr');
    head.appendChild(el('th', {}, ''));
    recs.forEach(function (r) {
      head.appendChild(el('th', { scope: 'col' }, r.source.name + ' (' + r.source.kind + ')' + (r.row[2] ? ' copy ' + (r.row[2] + 1) : '')));
    });
    table.appendChild(el('thead')).appendChild(head);
    const body = table.appendChild(el('tbody'));
    const lines = [['registered', 3], ['cast', 4], ['valid', 5], ['null', 6], ['blank', 7]];
    const cands = [];
    recs.forEach(function (r) { r.source.candidates.forEach(function (c) { if (cands.indexOf(c) < 0) cands.push(c); }); });
    const value = function (r, line) {
      if (line[1] !== null) return r.row[line[1]];
      const j = r.source.candidates.indexOf(line[0]);
      return j < 0 ? null : r.row[8][j];
    };
    lines.concat(cands.map(function (c) { return [c, null]; })).forEach(function (line) {
      const vals = recs.map(function (r) { return value(r, line); });
      if (line[1] !== null && vals.every(function (v) { return v === null; })) return;
      const given = vals.filter(function (v) { return v !== null; });
      const differ = given.some(function (v) { return v !== given[0]; });
      const tr = el('tr', differ ? { class: 'differ' } : {});
      tr.appendChild(el('th', { scope: 'row' }, line[0]));
      vals.forEach(function (v) { tr.appendChild(el('td', {}, fmt(v))); });
      body.appendChild(tr);
    });
    return { table: table, cands: cands, value: value };
  }

  function disagreements(recs, cands, value) {
    const ul = el('ul', { id: 'disagreements' });
    for (let i = 0; i < recs.length; i++) {
      for (let j = i + 1; j < recs.length; j++) {
        const diffs = [];
        cands.concat(['registered', 'valid', 'null']).forEach(function (c) {
          const line = { registered: ['registered', 3], valid: ['valid', 5], null: ['null', 6] }[c] || [c, null];
          const a = value(recs[i], line), b = value(recs[j], line);
          if (a !== null && b !== null && a !== b) diffs.push(c + ': ' + fmt(a) + ' vs ' + fmt(b));
        });
        if (diffs.length) {
          ul.appendChild(el('li', {}, recs[i].label + ' vs ' + recs[j].label + ' — ' + diffs.join('; ')));
        }
      }
    }
    return ul;
  }

  async function showTable(id, entry, view) {
    const first = entry[4], count = entry[5], size = meta.shard_size;
    const recs = [];
    const proofs = [];
    let unit = null;
    for (let k = Math.floor(first / size); k <= Math.floor((first + count - 1) / size); k++) {
      const shard = await VA.load('tables/' + VA.pad6(k));
      unit = unit || shard.units[id];
      const leaves = await Promise.all(shard.records.map(function (row) {
        return VA.leafHash(VA.canonicalBytes(shard.sources, row));
      }));
      const inner = await VA.levels(leaves);
      const outer = shard.subtree_path.map(VA.unhex);
      shard.records.forEach(function (row, i) {
        if (row[1] !== id) return;
        const src = shard.sources[row[0]];
        const index = shard.first_leaf + i;
        recs.push({ row: row, source: src, label: src.name + (row[2] ? ' copy ' + (row[2] + 1) : '') });
        const audit = VA.path(inner, i).concat(outer);
        proofs.push(VA.verifyInclusion(leaves[i], index, meta.tree_size, audit, meta.root).then(function (ok) {
          return { ok: ok, index: index, leaf: VA.hex(leaves[i]), audit: audit.map(VA.hex), source: src.name };
        }));
      });
    }
    view.appendChild(crumbs((unit && unit.ancestors) || []));
    view.appendChild(el('h2', { id: 'unit-title' }, levelName(entry[2]) + ' ' + ((unit && unit.label) || id)));
    view.appendChild(el('p', { class: 'muted' }, 'Unit id ' + id + ' · ' + recs.length + ' record' + (recs.length === 1 ? '' : 's')));
    const missing = meta.sources.filter(function (s) { return !recs.some(function (r) { return r.source.name === s.name; }); });
    const nt = numbersTable(recs);
    view.appendChild(nt.table);
    if (missing.length) view.appendChild(el('p', { class: 'muted' }, 'Not reported by: ' + missing.map(function (s) { return s.name; }).join(', ')));
    view.appendChild(el('h3', {}, 'Disagreements'));
    const dis = disagreements(recs, nt.cands, nt.value);
    view.appendChild(dis.childNodes.length ? dis : el('p', { id: 'disagreements' }, recs.length > 1 ? 'All sources agree on this table.' : 'Only one record: nothing to compare.'));
    const sheets = {};
    recs.forEach(function (r) { if (r.row[10]) sheets[r.row[10]] = true; });
    Object.keys(sheets).forEach(function (u) { view.appendChild(sheetNode(u)); });
    recs.forEach(function (r) {
      if (r.row[9] && r.row[9].length) view.appendChild(el('p', { class: 'flags' }, r.label + ' flagged: ' + r.row[9].join(', ')));
    });
    const done = await Promise.all(proofs);
    const okAll = done.length > 0 && done.every(function (p) { return p.ok; });
    const proof = el('p', { id: 'proof' });
    let release = null;
    try { release = await VA.load('release'); } catch (e) { release = null; }
    const anchored = await VA.checkAnchor(VA.getAnchor(), meta.root, release);
    if (!okAll) {
      setState(proof, 'failed', '✗ Inclusion proof FAILED: these numbers are not the ones in this site\'s records root ' + meta.root + '.');
    } else if (anchored.state === 'ok') {
      setState(proof, 'ok', '✓ Every record above is included in this release (tree of ' + meta.tree_size.toLocaleString('en-US') +
        ' records), which ' + anchored.text);
    } else if (anchored.state === 'failed') {
      setState(proof, 'failed', '✗ The records are included in this site\'s own root, but this release ' + anchored.text);
    } else {
      setState(proof, 'consistent', 'The records above are included in this site\'s records root ' + meta.root + '. ' + anchored.text);
    }
    view.appendChild(proof);
    const det = el('details');
    det.appendChild(el('summary', {}, 'Inclusion proofs (RFC 9162)'));
    done.forEach(function (p) {
      det.appendChild(el('pre', {}, p.source + ': leaf ' + p.index + ' of ' + meta.tree_size + ', leaf hash ' + p.leaf +
        '\naudit path:\n' + p.audit.join('\n') + '\n' + (p.ok ? 'OK' : 'FAILED')));
    });
    view.appendChild(det);
  }

  async function showPlace(id, entry, view) {
    const hits = await VA.blockSearch('places', id, 1, true);
    if (!hits.length) throw new Error('place ' + id + ' is missing from the index');
    const p = hits[0];
    view.appendChild(crumbs(p[3]));
    view.appendChild(el('h2', { id: 'unit-title' }, levelName(p[1]) + ' ' + (p[2] || id)));
    view.appendChild(el('p', { class: 'muted' }, 'Unit id ' + id + ' · ' + p[6].length + ' unit' + (p[6].length === 1 ? '' : 's') + ' at level ' + levelName(p[1] + 1)));
    const ul = el('ul', { class: 'children', id: 'children' });
    p[6].forEach(function (c) {
      const li = el('li');
      li.appendChild(el('a', { href: VA.unitHref(c[0]) }, c[1] || c[0]));
      li.appendChild(el('span', { class: 'muted' }, ' ' + c[0]));
      ul.appendChild(li);
    });
    view.appendChild(ul);
  }

  async function showUnit() {
    const view = $('unit');
    if (!view) return;
    view.textContent = '';
    let id = '';
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { id = ''; }
    if (!id) { view.appendChild(el('p', {}, 'Search for a table above.')); return; }
    try {
      const hits = await VA.blockSearch('search', id, 4, true);
      const entry = hits.find(function (e) { return !e[1] || e[1] === id; });
      if (!entry) { view.appendChild(el('p', { id: 'not-found' }, 'No table or place has the id “' + id + '”.')); return; }
      if (isTable(entry[2])) await showTable(id, entry, view); else await showPlace(id, entry, view);
      document.title = (document.getElementById('unit-title') || {}).textContent + ' · ' + meta.title;
    } catch (err) {
      view.appendChild(el('p', { class: 'error', id: 'error' }, 'Could not load ' + id + ': ' + err.message));
    }
  }

  async function main() {
    try {
      meta = await VA.load('root');
    } catch (err) {
      setState($('search-status'), 'error', 'Could not load the index: ' + err.message);
      return;
    }
    $('search').addEventListener('submit', runSearch);
    window.addEventListener('hashchange', showUnit);
    VA.watchAnchor(showUnit);
    await showUnit();
    document.body.setAttribute('data-ready', '1');
  }
  main();
})();
