/* voteaudit publication: shared helpers (data loading, SHA-256, canonical records, Merkle proofs, look-up).
   Vanilla JS, no network access beyond this site's own files. */
'use strict';
(function () {
  const VA = (window.VA = {});
  const pending = {};
  const cache = {};

  /* Data files come as NAME.json (fetched over HTTP) and NAME.js (a <script> that calls voteauditData,
     for file:// where browsers refuse fetch). */
  window.voteauditData = function (name, doc) {
    const p = pending[name];
    if (p) { delete pending[name]; p.resolve(doc); }
  };
  VA.fromDisk = location.protocol === 'file:';
  VA.load = function (name) {
    if (!/^[a-z]+(\/[0-9a-z]+)?$/.test(name)) return Promise.reject(new Error('bad data name'));
    if (cache[name]) return cache[name];
    let p;
    if (VA.fromDisk) {
      p = new Promise(function (resolve, reject) {
        pending[name] = { resolve: resolve, reject: reject };
        const s = document.createElement('script');
        s.src = name + '.js';
        s.onerror = function () { delete pending[name]; reject(new Error('cannot load ' + name + '.js')); };
        s.onload = function () {
          s.remove();
          if (pending[name]) { delete pending[name]; reject(new Error(name + '.js holds no data for ' + name)); }
        };
        document.head.appendChild(s);
      });
    } else {
      p = fetch(name + '.json').then(function (r) {
        if (!r.ok) throw new Error('cannot load ' + name + '.json (' + r.status + ')');
        return r.json();
      });
    }
    cache[name] = p;
    p.catch(function () { delete cache[name]; });
    return p;
  };

  /* ---- SHA-256: WebCrypto where the page is a secure context (https, localhost, file), else plain JS ---- */
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2]);
  function sha256js(data) {
    const n = data.length, total = ((n + 9 + 63) >> 6) << 6;
    const buf = new Uint8Array(total);
    buf.set(data);
    buf[n] = 0x80;
    const dv = new DataView(buf.buffer);
    dv.setUint32(total - 8, Math.floor(n / 0x20000000));
    dv.setUint32(total - 4, (n << 3) >>> 0);
    const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
      0x1f83d9ab, 0x5be0cd19]);
    const W = new Uint32Array(64);
    const rotr = function (x, r) { return (x >>> r) | (x << (32 - r)); };
    for (let off = 0; off < total; off += 64) {
      for (let i = 0; i < 16; i++) W[i] = dv.getUint32(off + 4 * i);
      for (let i = 16; i < 64; i++) {
        const a = W[i - 15], b = W[i - 2];
        W[i] = (W[i - 16] + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + W[i - 7] + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10))) >>> 0;
      }
      let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) >>> 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setUint32(4 * i, H[i]);
    return out;
  }
  const subtle = window.crypto && window.crypto.subtle;
  VA.sha256 = function (bytes) {
    if (subtle) return subtle.digest('SHA-256', bytes).then(function (b) { return new Uint8Array(b); });
    return Promise.resolve(sha256js(bytes));
  };
  VA.hex = function (bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  };
  VA.unhex = function (s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  };
  function concat(prefix, a, b) {
    const out = new Uint8Array(1 + a.length + (b ? b.length : 0));
    out[0] = prefix; out.set(a, 1);
    if (b) out.set(b, 1 + a.length);
    return out;
  }

  /* ---- canonical record bytes and the RFC 6962 / 9162 Merkle tree ---- */
  VA.canonical = function (sources, row) {
    const s = sources[row[0]];
    return [s.name, s.kind, row[1], row[2], row[3], row[4], row[5], row[6], row[7], s.candidates, row[8], row[9],
      row[10]];
  };
  const enc = new TextEncoder();
  VA.canonicalBytes = function (sources, row) { return enc.encode(JSON.stringify(VA.canonical(sources, row))); };
  VA.leafHash = function (bytes) { return VA.sha256(concat(0, bytes)); };
  VA.nodeHash = function (l, r) { return VA.sha256(concat(1, l, r)); };
  VA.levels = async function (hashes) {
    const out = [hashes.slice()];
    while (out[out.length - 1].length > 1) {
      const cur = out[out.length - 1], next = [];
      for (let i = 0; i + 1 < cur.length; i += 2) next.push(VA.nodeHash(cur[i], cur[i + 1]));
      const done = await Promise.all(next);
      if (cur.length % 2) done.push(cur[cur.length - 1]);
      out.push(done);
    }
    return out;
  };
  VA.root = async function (hashes) {
    if (!hashes.length) return VA.sha256(new Uint8Array(0));
    const t = await VA.levels(hashes);
    return t[t.length - 1][0];
  };
  VA.path = function (tree, index) {
    const out = [];
    for (let k = 0; k < tree.length - 1; k++) {
      const sib = index ^ 1;
      if (sib < tree[k].length) out.push(tree[k][sib]);
      index = Math.floor(index / 2);
    }
    return out;
  };
  /* RFC 9162 section 2.1.3.2 */
  VA.verifyInclusion = async function (leaf, index, size, audit, rootHex) {
    if (index >= size) return false;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of audit) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await VA.nodeHash(p, r);
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        r = await VA.nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && VA.hex(r) === rootHex;
  };

  /* ---- text folding as the index was built (NFKD, drop marks, lower case) ---- */
  VA.fold = function (s) { return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase(); };
  VA.words = function (s) {
    return (VA.fold(s).match(/[\p{L}\p{N}]+/gu) || []).filter(function (w) { return w.length > 1 || /^\d$/.test(w); });
  };
  VA.code = function (q) {
    return q.trim().split('.').map(function (part) {
      part = part.trim().replace(/\s+/g, ' ');
      if (/^[0-9]+$/.test(part)) return part.replace(/^0+/, '') || '0';
      return VA.fold(part).replace(/%/g, '%25');
    }).join('.');
  };
  function pad6(k) { return String(k).padStart(6, '0'); }
  VA.pad6 = pad6;

  /* Entries of a sorted-block directory whose key starts with q (or equals q when exact). */
  VA.blockSearch = async function (folder, q, limit, exact) {
    const idx = await VA.load(folder + '/index');
    const first = idx.first;
    let lo = 0, hi = first.length - 1, b = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (first[mid] <= q) { b = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    const out = [];
    for (let k = b; k < first.length && out.length < limit; k++) {
      if (k > b && !(exact ? first[k] === q : first[k].startsWith(q))) break;
      const block = await VA.load(folder + '/' + pad6(k));
      let past = false;
      for (const e of block.entries) {
        if (exact ? e[0] === q : e[0].startsWith(q)) { out.push(e); if (out.length >= limit) break; }
        else if (e[0] > q) { past = true; break; }
      }
      if (past) break;
    }
    return out;
  };
  VA.el = function (tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  VA.unitHref = function (id) { return 'table.html#' + encodeURIComponent(id); };

  /* ---- the anchor: the release root (or signing key fingerprint) the publisher announced elsewhere ----
     release root = SHA-256(0x02 || records' Merkle root || SHA-256(manifest.json)); it commits to every file.
     Nothing on this site is trusted for it: the reader types (or pastes) it. */
  VA.releaseRoot = async function (recordsRootHex, manifestShaHex) {
    const a = VA.unhex(recordsRootHex), b = VA.unhex(manifestShaHex);
    return VA.hex(await VA.sha256(concat(2, a, b)));
  };
  const ANCHOR_KEY = 'voteaudit-anchor';
  VA.getAnchor = function () {
    const box = document.getElementById('anchor');
    let v = box ? box.value : '';
    if (!v) { try { v = localStorage.getItem(ANCHOR_KEY) || ''; } catch (e) { v = ''; } }
    v = v.trim().toLowerCase();
    if (box && !box.value) box.value = v;
    return v;
  };
  VA.watchAnchor = function (onChange) {
    const box = document.getElementById('anchor');
    if (!box) return;
    box.addEventListener('change', function () {
      try { localStorage.setItem(ANCHOR_KEY, box.value.trim().toLowerCase()); } catch (e) { /* private mode */ }
      onChange();
    });
  };
  async function ed25519(pubHex, sigHex, message) {
    if (!subtle) throw new Error('this page cannot use WebCrypto (open it over https, localhost or from disk)');
    const key = await subtle.importKey('raw', VA.unhex(pubHex), { name: 'Ed25519' }, false, ['verify']);
    return subtle.verify({ name: 'Ed25519' }, key, VA.unhex(sigHex), enc.encode(message));
  }
  /* {state: 'ok' | 'failed' | 'consistent', text, root}: is the release made of recordsRoot (recomputed from the
     records) and release.manifest_sha256 the one the reader's anchor names? */
  VA.checkAnchor = async function (anchor, recordsRoot, release) {
    const hex64 = /^[0-9a-f]{64}$/;
    if (!release || !hex64.test(String(release.manifest_sha256)) || !hex64.test(recordsRoot)) {
      return { state: 'failed', text: 'release.json is missing or malformed: the release root cannot be computed.' };
    }
    const root = await VA.releaseRoot(recordsRoot, release.manifest_sha256);
    const sig = release.signature;
    let fp = null;
    if (sig && hex64.test(String(sig.public_key))) fp = VA.hex(await VA.sha256(VA.unhex(sig.public_key)));
    if (!anchor) {
      return { state: 'consistent', root: root, text: 'Consistent with this site\'s own data only: that proves nothing by itself. ' +
        'Enter the release root the publisher announced' + (fp ? ' (or their key fingerprint)' : '') + ' above. This site\'s release root is ' +
        root + (fp ? '; it is signed by key ' + fp : '') + '.' };
    }
    if (anchor === root) return { state: 'ok', root: root, text: 'matches the release root you entered, ' + root + '.' };
    if (fp && anchor === fp) {
      let good = false, why = '';
      try { good = /^[0-9a-f]{128}$/.test(String(sig.value)) && await ed25519(sig.public_key, sig.value, 'voteaudit-release/2 root ' + root); }
      catch (e) { why = ' (' + e.message + ')'; }
      if (good) return { state: 'ok', root: root, text: 'is signed by the key you entered, ' + fp + ' (release root ' + root + ').' };
      return { state: 'failed', root: root, text: 'does NOT carry a valid signature by the key you entered' + why + '.' };
    }
    if (anchor === recordsRoot) {
      return { state: 'failed', root: root, text: 'You entered the records-only Merkle root, which does not cover the files: enter the release root.' };
    }
    return { state: 'failed', root: root, text: 'does NOT match what you entered: this copy\'s release root is ' + root + (fp ? ', its key ' + fp : '') + '.' };
  };
})();
