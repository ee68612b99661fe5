// "Check my receipt": verifies a C2SP tlog-proof receipt in the browser, with WebCrypto only.
//  1. parse the receipt and the log key (C2SP signed-note vkey) strictly;
//  2. the receipt's checkpoint carries a valid Ed25519 signature by that key, for this origin;
//  3. RFC 9162 §2.1.3.2: the entry's leaf hash, with the inclusion proof, gives the root;
//  4. fetch the log's current checkpoint (no parameters) and check its signature;
//  5. fetch the consistency proof between the two sizes (the only receipt data sent) and check
//     it with RFC 9162 §2.1.4.2: the current log still contains the receipt's tree.
// Each failure names one reason code; nothing else leaves the browser.
"use strict";
(function () {
  const TEXT = {
    lv: {
      ok: "Kvīts ir derīga",
      bad: "Kvīts NAV apstiprināta",
      checking: "Pārbauda…",
      reason: "Iemesls",
      proven: "Pierādīts",
      keyOk: (k) => `Kontrolpunktu parakstījusi žurnāla atslēga ${k} (Ed25519).`,
      included: (i, n) => `Ieraksts nr. ${i} ir iekļauts kokā ar ${n} ierakstiem (RFC 6962 iekļaušanas pierādījums).`,
      event: (t, at) => `Ieraksts: ${t}, ${at}.`,
      consistent: (n, m) => `Pašreizējais žurnāls (${m} ieraksti, tā paša atslēga) satur kvīts koku ar ${n} ierakstiem (konsekvences pierādījums).`,
      same: (n) => `Pašreizējais žurnāls ir tas pats koks ar ${n} ierakstiem.`,
      sent: (n, m) => `Serverim nosūtīti tikai izmēri ${n} un ${m}.`,
      sentNone: "Serverim netika nosūtīts nekas no kvīts.",
      reasons: {
        MALFORMED_RECEIPT: "Kvīts nav derīgā C2SP tlog-proof formā",
        MALFORMED_KEY: "Atslēga nav derīga parakstītās piezīmes atslēga",
        WRONG_KEY: "Kvīts kontrolpunktu nav parakstījusi šī žurnāla atslēga (cita atslēga)",
        BAD_SIGNATURE: "Kontrolpunkta paraksts nav derīgs (kvīts mainīta)",
        WRONG_LOG: "Kontrolpunkts ir no cita žurnāla (izcelsme atšķiras)",
        NOT_INCLUDED: "Ieraksts nav iekļauts kontrolpunkta kokā (pierādījums neder)",
        LOG_REWRITTEN: "Žurnāls ir pārrakstīts: pašreizējais koks nesatur kvīts koku",
        CURRENT_INVALID: "Žurnāla pašreizējais kontrolpunkts nav derīgi parakstīts ar šo atslēgu",
        UNAVAILABLE: "Neizdevās saņemt žurnāla pašreizējo stāvokli; mēģiniet vēlāk",
        NO_WEBCRYPTO: "Šis pārlūks nevar pārbaudīt Ed25519 parakstus (vajadzīgs HTTPS un jauns pārlūks)",
      },
    },
    en: {
      ok: "The receipt is valid",
      bad: "The receipt is NOT confirmed",
      checking: "Checking…",
      reason: "Reason",
      proven: "Proven",
      keyOk: (k) => `The checkpoint is signed by the log key ${k} (Ed25519).`,
      included: (i, n) => `Entry #${i} is included in the tree of ${n} entries (RFC 6962 inclusion proof).`,
      event: (t, at) => `The entry: ${t}, ${at}.`,
      consistent: (n, m) => `The current log (${m} entries, same key) still contains the receipt's tree of ${n} entries (consistency proof).`,
      same: (n) => `The current log is the same tree of ${n} entries.`,
      sent: (n, m) => `Only the sizes ${n} and ${m} were sent to the server.`,
      sentNone: "Nothing from the receipt was sent to the server.",
      reasons: {
        MALFORMED_RECEIPT: "The receipt is not in valid C2SP tlog-proof form",
        MALFORMED_KEY: "The key is not a valid signed-note verifier key",
        WRONG_KEY: "The receipt's checkpoint is not signed by this log's key (another key)",
        BAD_SIGNATURE: "The checkpoint's signature is not valid (the receipt was changed)",
        WRONG_LOG: "The checkpoint is from another log (the origin differs)",
        NOT_INCLUDED: "The entry is not included in the checkpoint's tree (the proof fails)",
        LOG_REWRITTEN: "The log was rewritten: the current tree does not contain the receipt's tree",
        CURRENT_INVALID: "The log's current checkpoint is not validly signed by this key",
        UNAVAILABLE: "Could not fetch the log's current state; try again later",
        NO_WEBCRYPTO: "This browser cannot verify Ed25519 signatures (needs HTTPS and a current browser)",
      },
    },
  };

  class Refusal extends Error {
    constructor(code, detail) {
      super(code);
      this.code = code;
      this.detail = detail || "";
    }
  }

  const HEADER = "c2sp.org/tlog-proof@v1";
  const EM_DASH = "\u2014 ";
  const enc = new TextEncoder();

  // --- strict encodings --------------------------------------------------------------
  function b64decode(text, code) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new Refusal(code, "not base64");
    }
    let bin;
    try {
      bin = atob(text);
    } catch (e) {
      throw new Refusal(code, "not base64");
    }
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (b64encode(out) !== text) throw new Refusal(code, "non-canonical base64");
    return out;
  }

  function b64encode(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }

  function decimal(text, code) {
    if (!/^(0|[1-9][0-9]{0,17})$/.test(text)) throw new Refusal(code, "not a decimal number");
    return BigInt(text);
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // RFC 6962 §2.1 domain separation.
  const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
  const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  // --- keys and notes (c2sp.org/signed-note) -----------------------------------------
  async function parseKey(vkey) {
    // name+hexid+base64: the base64 may itself contain "+", so split at the first two only.
    const text = vkey.trim();
    const first = text.indexOf("+");
    const second = first < 0 ? -1 : text.indexOf("+", first + 1);
    if (second < 0) throw new Refusal("MALFORMED_KEY", "expected name+id+key");
    const [name, hexId, material] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
    if (!name || /[\s+]/.test(name) || !/^[0-9a-f]{8}$/.test(hexId)) {
      throw new Refusal("MALFORMED_KEY", "bad name or key id");
    }
    const raw = b64decode(material, "MALFORMED_KEY");
    if (raw.length !== 33 || raw[0] !== 1) throw new Refusal("MALFORMED_KEY", "not an Ed25519 key");
    const digest = await sha256(concat(enc.encode(name + "\n"), raw));
    const id = digest.slice(0, 4);
    if (Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("") !== hexId) {
      throw new Refusal("MALFORMED_KEY", "key id does not match the key");
    }
    let key;
    try {
      key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new Refusal("NO_WEBCRYPTO", String(e));
    }
    return { name, id, key, text: vkey.trim() };
  }

  function parseNote(note, code) {
    if (!note.endsWith("\n")) throw new Refusal(code, "note must end in a newline");
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Refusal(code, "note has no signature block");
    const text = note.slice(0, split + 1);
    const lines = note.slice(split + 2).split("\n").slice(0, -1);
    if (!lines.length) throw new Refusal(code, "note has no signatures");
    const signatures = lines.map((line) => {
      if (!line.startsWith(EM_DASH)) throw new Refusal(code, "bad signature line");
      const rest = line.slice(EM_DASH.length);
      const space = rest.indexOf(" ");
      if (space <= 0) throw new Refusal(code, "bad signature line");
      const blob = b64decode(rest.slice(space + 1), code);
      if (blob.length < 5) throw new Refusal(code, "short signature");
      return { name: rest.slice(0, space), id: blob.slice(0, 4), sig: blob.slice(4) };
    });
    const fields = text.split("\n");
    if (fields.length < 4) throw new Refusal(code, "checkpoint needs origin, size and root");
    const root = b64decode(fields[2], code);
    if (root.length !== 32) throw new Refusal(code, "root is not a SHA-256 hash");
    return { text, signatures, origin: fields[0], size: decimal(fields[1], code), root };
  }

  // Step 2 / 4: a signature by the key (name and id) that verifies; none -> WRONG_KEY.
  async function checkSigned(note, key, failure) {
    const mine = note.signatures.filter((s) => s.name === key.name && equal(s.id, key.id));
    if (!mine.length) {
      const others = note.signatures.map((s) => s.name).join(", ");
      throw new Refusal(failure === "CURRENT_INVALID" ? failure : "WRONG_KEY", `signed by: ${others}`);
    }
    for (const s of mine) {
      const ok =
        s.sig.length === 64 &&
        (await crypto.subtle.verify({ name: "Ed25519" }, key.key, s.sig, enc.encode(note.text)));
      if (!ok) throw new Refusal(failure === "CURRENT_INVALID" ? failure : "BAD_SIGNATURE");
    }
  }

  function parseReceipt(raw) {
    const text = raw.replace(/\r\n/g, "\n").replace(/^\s+/, "").replace(/\n*$/, "\n");
    const cut = text.indexOf("\n\n");
    if (cut < 0) throw new Refusal("MALFORMED_RECEIPT", "no blank line before the checkpoint");
    const lines = text.slice(0, cut).split("\n");
    if (lines[0] !== HEADER) throw new Refusal("MALFORMED_RECEIPT", `must start with ${HEADER}`);
    let at = 1;
    let extra = null;
    if (lines[at] && lines[at].startsWith("extra ")) {
      extra = b64decode(lines[at].slice(6), "MALFORMED_RECEIPT");
      at++;
    }
    if (!lines[at] || !lines[at].startsWith("index ")) {
      throw new Refusal("MALFORMED_RECEIPT", "no index line");
    }
    const index = decimal(lines[at].slice(6), "MALFORMED_RECEIPT");
    const proof = lines.slice(at + 1).map((l) => b64decode(l, "MALFORMED_RECEIPT"));
    if (proof.some((h) => h.length !== 32)) throw new Refusal("MALFORMED_RECEIPT", "proof hash size");
    if (extra === null) throw new Refusal("MALFORMED_RECEIPT", "no extra line with the entry");
    const note = parseNote(text.slice(cut + 2), "MALFORMED_RECEIPT");
    return { index, proof, extra, note };
  }

  // --- RFC 9162 proofs ---------------------------------------------------------------
  async function verifyInclusion(leaf, index, size, proof, root) {
    if (index >= size) return false;
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0n) return false;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equal(r, root);
  }

  async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
    if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
    if (oldSize === 0n || oldSize > newSize || proof.length === 0) return false;
    const path = (oldSize & (oldSize - 1n)) === 0n ? [oldRoot, ...proof] : proof.slice();
    let fn = oldSize - 1n;
    let sn = newSize - 1n;
    while ((fn & 1n) === 1n) {
      fn >>= 1n;
      sn >>= 1n;
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0n) return false;
      if ((fn & 1n) === 1n || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equal(fr, oldRoot) && equal(sr, newRoot);
  }

  // --- the check ---------------------------------------------------------------------
  async function fetchText(url) {
    let response;
    try {
      response = await fetch(url, { cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
    } catch (e) {
      throw new Refusal("UNAVAILABLE", String(e));
    }
    if (!response.ok) throw new Refusal("UNAVAILABLE", `HTTP ${response.status}`);
    return response.text();
  }

  async function check(form, receiptText, keyText) {
    if (!window.crypto || !crypto.subtle) throw new Refusal("NO_WEBCRYPTO", "no crypto.subtle");
    const proven = [];
    const key = await parseKey(keyText);
    const receipt = parseReceipt(receiptText);
    const cp = receipt.note;
    // 2. The checkpoint is signed by the key and names this log.
    await checkSigned(cp, key, "BAD_SIGNATURE");
    const origin = form.dataset.origin;
    if (origin && cp.origin !== origin) throw new Refusal("WRONG_LOG", cp.origin);
    proven.push(["keyOk", key.text]);
    // 3. Inclusion of the entry in the checkpoint's tree.
    const leaf = await leafHash(receipt.extra);
    if (!(await verifyInclusion(leaf, receipt.index, cp.size, receipt.proof, cp.root))) {
      throw new Refusal("NOT_INCLUDED", `index ${receipt.index}, size ${cp.size}`);
    }
    proven.push(["included", receipt.index, cp.size]);
    try {
      const event = JSON.parse(new TextDecoder().decode(receipt.extra));
      if (event && typeof event.type === "string") proven.push(["event", event.type, String(event.at || "")]);
    } catch (e) {
      /* the entry is proven by its hash whatever its shape; only the summary is skipped */
    }
    // 4. The log's current checkpoint, signed by the same key.
    const current = parseNote(await fetchText(form.dataset.checkpointUrl), "CURRENT_INVALID");
    await checkSigned(current, key, "CURRENT_INVALID");
    if (current.origin !== cp.origin) throw new Refusal("CURRENT_INVALID", "origin differs");
    // 5. Consistency from the receipt's tree to the current one.
    if (current.size < cp.size) throw new Refusal("LOG_REWRITTEN", `the log shrank to ${current.size}`);
    if (current.size === cp.size) {
      if (!equal(current.root, cp.root)) throw new Refusal("LOG_REWRITTEN", "same size, other root");
      proven.push(["same", cp.size]);
      proven.push(["sentNone"]);
      return proven;
    }
    const url = `${form.dataset.consistencyUrl}?old=${cp.size}&new=${current.size}`;
    let body;
    try {
      body = JSON.parse(await fetchText(url));
    } catch (e) {
      if (e instanceof Refusal) throw e;
      throw new Refusal("UNAVAILABLE", "consistency proof is not JSON");
    }
    if (!body || !Array.isArray(body.proof)) throw new Refusal("UNAVAILABLE", "no proof in the answer");
    const proof = body.proof.map((h) => b64decode(String(h), "LOG_REWRITTEN"));
    if (proof.some((h) => h.length !== 32)) throw new Refusal("LOG_REWRITTEN", "proof hash size");
    if (!(await verifyConsistency(cp.size, current.size, cp.root, current.root, proof))) {
      throw new Refusal("LOG_REWRITTEN", `${cp.size} -> ${current.size}`);
    }
    proven.push(["consistent", cp.size, current.size]);
    proven.push(["sent", cp.size, current.size]);
    return proven;
  }

  // --- page --------------------------------------------------------------------------
  function show(result, lang, ok, items, refusal) {
    const t = TEXT[lang] || TEXT.lv;
    result.replaceChildren();
    result.className = "result " + (ok ? "ok" : "bad");
    result.dataset.outcome = ok ? "valid" : "invalid";
    result.dataset.reason = refusal ? refusal.code : "";
    const heading = document.createElement("h2");
    heading.textContent = ok ? t.ok : t.bad;
    result.append(heading);
    if (refusal) {
      const p = document.createElement("p");
      p.className = "reason";
      const code = document.createElement("code");
      code.textContent = refusal.code;
      p.append(`${t.reason}: `, code, ` — ${t.reasons[refusal.code] || refusal.code}`);
      if (refusal.detail) p.append(` (${refusal.detail})`);
      result.append(p);
    }
    if (items.length) {
      const title = document.createElement("h3");
      title.textContent = t.proven;
      const list = document.createElement("ul");
      for (const [name, ...args] of items) {
        const li = document.createElement("li");
        li.textContent = typeof t[name] === "function" ? t[name](...args.map(String)) : t[name];
        list.append(li);
      }
      result.append(title, list);
    }
    result.focus();
  }

  function init() {
    const form = document.getElementById("receipt-form");
    if (!form) return;
    const result = document.getElementById("result");
    const lang = form.dataset.lang;
    document.getElementById("check").disabled = false;
    const file = document.getElementById("receipt-file");
    const area = document.getElementById("receipt-text");
    file.addEventListener("change", () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      const reader = new FileReader();
      reader.onload = () => {
        area.value = String(reader.result);
      };
      reader.readAsText(chosen);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      result.className = "result";
      result.dataset.outcome = "checking";
      result.textContent = (TEXT[lang] || TEXT.lv).checking;
      try {
        const proven = await check(form, area.value, document.getElementById("log-key").value);
        show(result, lang, true, proven, null);
      } catch (e) {
        const refusal = e instanceof Refusal ? e : new Refusal("MALFORMED_RECEIPT", String(e));
        show(result, lang, false, [], refusal);
      }
    });
  }

  // The proof checks, for the browser tests that run them against audit/merkle.py's proofs.
  window.sigsvcProofs = Object.freeze({ leafHash, verifyInclusion, verifyConsistency });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
