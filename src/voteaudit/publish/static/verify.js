/* voteaudit publication: recompute every file hash, every record hash, the Merkle root and the release root in the
   browser, and compare the release root (or signing key) with the anchor the reader enters. */
'use strict';
(function () {
  const VA = window.VA, el = VA.el;
  const $ = function (id) { return document.getElementById(id); };
  const dec = new TextDecoder();
  const OWN = ['manifest.json', 'manifest.sha256', 'release.json', 'release.js'];
  const SAFE = /^(?!.*(^|\/)\.\.?(\/|$))[^\\:\u0000-\u001f\u007f]+$/;

  function progress(text) { $('progress').textContent = text; }

  async function pool(items, n, fn) {
    let next = 0;
    async function worker() { while (next < items.length) { const i = next++; await fn(items[i], i); } }
    await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  }

  /* getBytes(rel) -> Uint8Array or null when absent; listing: every file present (folder mode) or null (HTTP). */
  async function check(getBytes, listing) {
    const res = { changed: [], added: [], removed: [], recordsChanged: [], recordsAdded: [], recordsRemoved: [], problems: [] };
    const mbytes = await getBytes('manifest.json');
    if (!mbytes) { res.problems.push('manifest.json is missing'); return res; }
    const digest = VA.hex(await VA.sha256(mbytes));
    const sum = await getBytes('manifest.sha256');
    if (!sum) res.removed.push('manifest.sha256');
    else {
      const m = /^([0-9a-f]{64}) {2}manifest\.json\n$/.exec(dec.decode(sum));
      if (!m) { res.changed.push('manifest.sha256'); res.problems.push('manifest.sha256 is malformed'); }
      else if (m[1] !== digest) { res.changed.push('manifest.json'); res.problems.push('manifest.json does not match manifest.sha256'); }
    }
    let man;
    try { man = JSON.parse(dec.decode(mbytes)); } catch (e) { res.problems.push('manifest.json is not JSON'); return res; }
    if (!man || man.format !== 'voteaudit-publication/2' || !man.files || !man.records || !man.merkle) {
      res.problems.push('manifest.json is not a voteaudit publication manifest'); return res;
    }
    res.root = man.merkle.root;
    res.digest = digest;
    const files = Object.keys(man.files).sort();
    const shardBytes = {};
    let doneFiles = 0;
    await pool(files, 6, async function (rel) {
      if (!SAFE.test(rel)) { res.problems.push('unsafe path in manifest: ' + rel); return; }
      const bytes = await getBytes(rel);
      doneFiles++;
      if (doneFiles % 20 === 0) progress('Checked ' + doneFiles + ' of ' + files.length + ' files…');
      if (!bytes) { res.removed.push(rel); return; }
      if (VA.hex(await VA.sha256(bytes)) !== man.files[rel].sha256) res.changed.push(rel);
      if (/^tables\/\d{6}\.json$/.test(rel)) shardBytes[rel] = bytes;
    });
    if (listing) {
      listing.forEach(function (rel) {
        if (!(rel in man.files) && OWN.indexOf(rel) < 0) res.added.push(rel);
      });
    }
    progress('Recomputing ' + man.records.length.toLocaleString('en-US') + ' records and the Merkle root…');
    const expected = new Map();
    man.records.forEach(function (r) { expected.set(r[0] + ' ' + r[1] + ' #' + r[2], r[3]); });
    const seen = new Map();
    const shardRoots = [];
    let complete = true;
    for (let k = 0; k < man.merkle.shards; k++) {
      const rel = 'tables/' + VA.pad6(k) + '.json';
      const bytes = shardBytes[rel] || await getBytes(rel);
      let shard;
      try { shard = JSON.parse(dec.decode(bytes)); } catch (e) { res.problems.push(rel + ' is missing or unreadable'); complete = false; continue; }
      try {
        const hashes = await Promise.all(shard.records.map(async function (row) {
          const b = VA.canonicalBytes(shard.sources, row);
          seen.set(shard.sources[row[0]].name + ' ' + row[1] + ' #' + row[2], VA.hex(await VA.sha256(b)));
          return VA.leafHash(b);
        }));
        shardRoots.push(await VA.root(hashes));
      } catch (e) { res.problems.push(rel + ' holds a malformed record'); complete = false; }
    }
    seen.forEach(function (h, key) {
      if (!expected.has(key)) res.recordsAdded.push(key);
      else if (expected.get(key) !== h) res.recordsChanged.push(key);
    });
    expected.forEach(function (h, key) { if (!seen.has(key)) res.recordsRemoved.push(key); });
    if (complete) {
      const root = VA.hex(await VA.root(shardRoots));
      res.recomputedRoot = root;
      if (root !== man.merkle.root) res.problems.push('Merkle root recomputed from the records is ' + root + ', manifest says ' + man.merkle.root);
    }
    res.files = files.length;
    res.records = seen.size;
    if (complete) {
      let release = null;
      const rb = await getBytes('release.json');
      try { release = rb ? JSON.parse(dec.decode(rb)) : null; } catch (e) { release = null; }
      if (!release) res.problems.push('release.json is missing or unreadable');
      else {
        const root = await VA.releaseRoot(res.recomputedRoot, digest);
        const key = man.signing_key, sig = release.signature;
        if (release.root !== root || release.records_root !== res.recomputedRoot || release.manifest_sha256 !== digest) {
          res.changed.push('release.json'); res.problems.push('release.json is not what manifest.json implies');
        }
        if (key ? !sig || sig.public_key !== key.public_key || sig.fingerprint !== key.fingerprint : !!sig) {
          res.problems.push('release.json and manifest.json disagree on the signing key');
        }
        res.anchor = await VA.checkAnchor(VA.getAnchor(), res.recomputedRoot, { manifest_sha256: digest, signature: sig });
      }
    }
    return res;
  }

  function report(res, mode) {
    const out = $('result');
    out.textContent = '';
    const bad = ['changed', 'added', 'removed', 'recordsChanged', 'recordsAdded', 'recordsRemoved', 'problems']
      .filter(function (k) { return res[k].length; });
    const status = el('p', { id: 'status' });
    const what = (res.files || 0) + ' files and ' + (res.records || 0).toLocaleString('en-US') + ' records';
    const anchor = res.anchor || { state: 'failed', text: 'cannot be computed.' };
    if (bad.length) {
      status.setAttribute('data-state', 'failed');
      status.textContent = '✗ FAILED: this copy of the publication differs from its manifest.';
    } else if (anchor.state === 'ok') {
      status.setAttribute('data-state', 'ok');
      status.textContent = '✓ OK: ' + what + ' match manifest.json, and this release ' + anchor.text;
    } else if (anchor.state === 'failed') {
      status.setAttribute('data-state', 'failed');
      status.textContent = '✗ NOT the announced release: ' + what + ' match this copy\'s own manifest, but this release ' + anchor.text;
    } else {
      status.setAttribute('data-state', 'consistent');
      status.textContent = 'Consistent: ' + what + ' match manifest.json. ' + anchor.text;
    }
    out.appendChild(status);
    if (mode === 'http') out.appendChild(el('p', { class: 'muted' }, 'Over HTTP a page cannot list a folder, so extra files are not detected here; choose the folder below or run `voteaudit verify DIR`.'));
    const names = { changed: 'Files changed', added: 'Files added', removed: 'Files removed', recordsChanged: 'Records changed',
      recordsAdded: 'Records added', recordsRemoved: 'Records removed', problems: 'Problems' };
    bad.forEach(function (k) {
      out.appendChild(el('h3', {}, names[k] + ' (' + res[k].length + ')'));
      const ul = el('ul', { class: 'found', 'data-kind': k });
      res[k].slice(0, 200).forEach(function (x) { ul.appendChild(el('li', {}, x)); });
      out.appendChild(ul);
    });
    progress('');
  }

  async function fromServer() {
    progress('Fetching manifest.json…');
    const getBytes = async function (rel) {
      const url = rel.split('/').map(encodeURIComponent).join('/');
      try {
        const r = await fetch(url, { cache: 'no-store' });
        return r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
      } catch (e) { return null; }
    };
    try { report(await check(getBytes, null), 'http'); } catch (err) { progress('Verification failed: ' + err.message); }
  }

  async function fromFolder(fileList) {
    lastFolder = fileList;
    const files = {};
    Array.from(fileList).forEach(function (f) {
      const rel = (f.webkitRelativePath || f.name).split('/');
      if (rel.length > 1) rel.shift();
      files[rel.join('/')] = f;
    });
    const getBytes = async function (rel) {
      const f = files[rel];
      return f ? new Uint8Array(await f.arrayBuffer()) : null;
    };
    try { report(await check(getBytes, Object.keys(files)), 'folder'); } catch (err) { progress('Verification failed: ' + err.message); }
  }

  let lastFolder = null;
  VA.watchAnchor(function () {
    if (lastFolder) fromFolder(lastFolder);
    else if (!VA.fromDisk && $('result').childNodes.length) fromServer();
  });
  $('run').addEventListener('click', function () { fromServer(); });
  $('folder').addEventListener('change', function (ev) { fromFolder(ev.target.files); });
  if (VA.fromDisk) {
    $('run').disabled = true;
    $('mode').textContent = 'This page was opened from disk, where browsers do not let a page read other files by itself: choose the publication folder below.';
  }
  document.body.setAttribute('data-ready', '1');
})();
