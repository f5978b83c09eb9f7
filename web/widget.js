/*
 * Roadmap Tutor chat widget: plain JavaScript, no build step.
 *
 *   <script src="https://tutor.example/widget.js" data-tutor-url="https://tutor.example"></script>
 *
 * The tag adds a <roadmap-tutor> element: a floating button and a chat panel inside a
 * shadow root, so the host page's CSS cannot reach it and its CSS cannot leak out.
 *
 * Options (all optional) on the script tag:
 *   data-tutor-url  where the tutor API lives (default: the folder this script came from)
 *   data-stage      the roadmap stage the host page is about (1-4), used by "Quiz me"
 *   data-learner-id the site's id for the signed-in learner (default: an anonymous id kept
 *                   in this browser); progress, quizzes and "what next" follow it
 *   data-title      the panel heading (default "Roadmap Tutor")
 * The accent colour follows the CSS custom property --rt-accent set on the host page.
 *
 * Model output is untrusted. It is rendered as text with a small Markdown subset built
 * from DOM nodes (createElement / textContent), never parsed as HTML,
 * and links are created only for http(s) URLs.
 */
(function () {
  "use strict";

  var TAG = "roadmap-tutor";
  var UNAVAILABLE = "The tutor is unavailable right now. Please try again in a moment.";
  var script = document.currentScript ||
    [].slice.call(document.querySelectorAll('script[src*="widget.js"]')).pop();

  // ---------------------------------------------------------------------------------------
  // Safe rendering of model text: a small Markdown subset, DOM nodes only.

  var INLINE = new RegExp([
    "`([^`\\n]+)`",                       // 1 code
    "\\*\\*([^\\n]+?)\\*\\*",             // 2 bold
    "\\*([^*\\s](?:[^*\\n]*?[^*\\s])?)\\*", // 3 italic
    "\\[([^\\]\\n]+)\\]\\(([^)\\s]+)\\)", // 4 label, 5 url
    "\\[(\\d{1,3})\\]"                     // 6 citation marker
  ].join("|"), "g");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function safeHttpUrl(raw) {
    try {
      var url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null; // relative or malformed: not a link
    }
  }

  function appendInline(parent, text, citations) {
    var pattern = new RegExp(INLINE.source, "g"); // own lastIndex: this function recurses
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      last = pattern.lastIndex;
      if (match[1] != null) {
        parent.appendChild(el("code", null, match[1]));
      } else if (match[2] != null) {
        appendInline(parent.appendChild(el("strong")), match[2], citations);
      } else if (match[3] != null) {
        appendInline(parent.appendChild(el("em")), match[3], citations);
      } else if (match[4] != null) {
        var href = safeHttpUrl(match[5]);
        if (href) {
          var a = el("a", null, match[4]);
          a.href = href;
          a.target = "_blank";
          a.rel = "noopener noreferrer nofollow";
          parent.appendChild(a);
        } else {
          parent.appendChild(document.createTextNode(match[0])); // shown as written, inert
        }
      } else {
        parent.appendChild(citeMarker(Number(match[6]), citations));
      }
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function citeMarker(n, citations) {
    var cited = (citations || []).filter(function (c) { return c.n === n; })[0];
    var mark = el("span", "cite", String(n));
    mark.setAttribute("aria-label", cited ? "source " + n + ": " + cited.title : "source " + n);
    if (cited) mark.title = cited.title;
    return mark;
  }

  var BULLET = /^\s*[-*\u2022]\s+(.*)$/;
  var NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;
  var HEADING = /^\s*#{1,6}\s+(.*)$/;

  /** Markdown subset -> DocumentFragment: paragraphs, bullet and numbered lists, headings
   *  (as bold lines), fenced code, **bold**, *italic*, `code`, http(s) links, [n] markers. */
  function renderMarkdown(text, citations) {
    var root = document.createDocumentFragment();
    var lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
    var para = [];
    var list = null;

    function flushPara() {
      if (!para.length) return;
      appendInline(root.appendChild(el("p")), para.join(" "), citations);
      para = [];
    }
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (/^\s*```/.test(line)) { // fenced code: kept verbatim until the closing fence
        flushPara(); list = null;
        var code = [];
        while (++i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i]);
        root.appendChild(el("pre")).appendChild(el("code", null, code.join("\n")));
        continue;
      }
      var item = BULLET.exec(line) || NUMBERED.exec(line);
      if (item) {
        flushPara();
        var kind = BULLET.test(line) ? "UL" : "OL";
        if (!list || list.tagName !== kind) list = root.appendChild(el(kind.toLowerCase()));
        appendInline(list.appendChild(el("li")), item[1], citations);
        continue;
      }
      if (!line.trim()) { flushPara(); list = null; continue; }
      var heading = HEADING.exec(line);
      if (heading) {
        flushPara(); list = null;
        appendInline(root.appendChild(el("p", "heading")), heading[1], citations);
        continue;
      }
      if (list && /^\s{2,}\S/.test(line)) { // continuation of a list item
        appendInline(list.lastChild, " " + line.trim(), citations);
        continue;
      }
      list = null;
      para.push(line.trim());
    }
    flushPara();
    return root;
  }

  // ---------------------------------------------------------------------------------------
  // Server-Sent Events over fetch (EventSource cannot POST).

  function parseEvent(block) {
    var event = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (!line || line[0] === ":") return;
      var colon = line.indexOf(":");
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    });
    if (!data.length) return null;
    try {
      return { event: event, data: JSON.parse(data.join("\n")) };
    } catch (e) {
      return { event: event, data: data.join("\n") };
    }
  }

  /** Calls onEvent({event, data}) for each event of a text/event-stream response body. */
  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer = (buffer + decoder.decode(chunk.value, { stream: true })).replace(/\r\n/g, "\n");
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          var parsed = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (parsed) onEvent(parsed);
        }
      }
    } catch (error) {
      reader.cancel().catch(function () { /* already closed */ }); // stop the server's work too
      throw error;
    }
  }

  function Unavailable() { this.name = "Unavailable"; this.message = UNAVAILABLE; }
  function Shown(message) { this.name = "Shown"; this.message = message; }

  // ---------------------------------------------------------------------------------------
  // Small helpers

  var store = {
    get: function (key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } },
    set: function (key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } },
    remove: function (key) { try { window.localStorage.removeItem(key); } catch (e) { /* private mode */ } }
  };

  var ICONS = { // static SVG path data (ours, never model text)
    chat: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4.5 12h14M13 6.5l5.5 5.5-5.5 5.5",
    stop: "M7 7h10v10H7z",
    plus: "M12 5v14M5 12h14",
    up: "M7 11v9H4v-9zM7 11l4-8c1.5 0 2.5 1 2.5 2.5V9H19a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.8 20H7",
    down: "M7 13V4H4v9zM7 13l4 8c1.5 0 2.5-1 2.5-2.5V15H19a2 2 0 0 0 2-2.3l-1.2-7A2 2 0 0 0 17.8 4H7",
    retry: "M4 12a8 8 0 1 0 2.3-5.7M4 4v4.5h4.5",
    back: "M19 12H5M11 6l-6 6 6 6",
    link: "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"
  };

  // Mastery as a glyph and a word as well as a colour (colour is never the only signal).
  var MASTERY = {
    mastered: { glyph: "\u2713", word: "mastered" },
    in_progress: { glyph: "\u25D0", word: "in progress" },
    not_started: { glyph: "\u25CB", word: "not started" }
  };
  var MILESTONE = { ready: "Milestone reached", in_progress: "Milestone in progress", not_started: "Milestone not started" };

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function randomId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return [].map.call(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function button(className, label, iconName, text) {
    var b = el("button", className);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    if (iconName) b.appendChild(icon(iconName));
    if (text) b.appendChild(el("span", null, text));
    return b;
  }

  // ---------------------------------------------------------------------------------------
  // Styles: everything lives in the shadow root. :host resets what the page could inherit
  // into us (an !important inside the shadow beats an !important on the page).

  var STYLE = [
    ":host { all: initial !important; display: block !important; position: static !important; }",
    ":host { --accent: var(--rt-accent, #4f46e5); --ink: #111827; --muted: #6b7280; --line: #e5e7eb;",
    "  --soft: #f3f4f6; --bg: #ffffff; --danger: #b91c1c; }",
    ".root, .root * { box-sizing: border-box; }",
    ".root { font: 400 14px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;",
    "  color: var(--ink); letter-spacing: normal; text-align: left; -webkit-font-smoothing: antialiased; }",
    "[hidden] { display: none !important; }",
    "button { font: inherit; color: inherit; cursor: pointer; border: 0; background: none; margin: 0; padding: 0;",
    "  display: inline-flex; align-items: center; justify-content: center; gap: 6px; }",
    "button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }",
    "svg { width: 18px; height: 18px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; flex: none; }",
    // launcher
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;",
    "  border-radius: 50%; background: var(--accent); color: #fff; box-shadow: 0 6px 20px rgba(17,24,39,.28);",
    "  transition: transform .15s ease, box-shadow .15s ease; }",
    ".launcher:hover { transform: translateY(-2px); box-shadow: 0 10px 26px rgba(17,24,39,.32); }",
    ".launcher svg { width: 26px; height: 26px; }",
    ".launcher[aria-expanded='true'] .i-chat, .launcher[aria-expanded='false'] .i-close { display: none; }",
    // panel
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483001; width: 384px;",
    "  height: min(640px, calc(100vh - 112px)); display: flex; flex-direction: column; overflow: hidden;",
    "  background: var(--bg); border: 1px solid var(--line); border-radius: 16px;",
    "  box-shadow: 0 24px 64px rgba(17,24,39,.22), 0 2px 6px rgba(17,24,39,.08); animation: rt-in .18s ease-out; }",
    "@keyframes rt-in { from { opacity: 0; transform: translateY(8px) scale(.98); } to { opacity: 1; transform: none; } }",
    "@media (prefers-reduced-motion: reduce) { .panel, .launcher { animation: none; transition: none; } .dots span { animation: none !important; } }",
    ".header { display: flex; align-items: center; gap: 10px; padding: 14px 12px 14px 16px; color: #fff;",
    "  background: linear-gradient(135deg, var(--accent), color-mix(in srgb, var(--accent) 70%, #000)); }",
    ".avatar { width: 34px; height: 34px; border-radius: 10px; background: rgba(255,255,255,.18); display: grid; place-items: center; flex: none; }",
    ".avatar svg { width: 20px; height: 20px; }",
    ".titles { flex: 1; min-width: 0; }",
    ".title { margin: 0; font-size: 15px; font-weight: 650; line-height: 1.25; }",
    ".subtitle { margin: 0; font-size: 12px; opacity: .85; }",
    ".icon-btn { width: 32px; height: 32px; border-radius: 8px; color: #fff; }",
    ".icon-btn:hover { background: rgba(255,255,255,.16); }",
    ".log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 14px;",
    "  background: #fafafa; overscroll-behavior: contain; }",
    ".welcome { color: var(--muted); font-size: 13.5px; padding: 4px 2px; }",
    ".welcome strong { color: var(--ink); display: block; font-size: 15px; margin-bottom: 2px; }",
    ".msg { display: flex; flex-direction: column; max-width: 88%; }",
    ".msg.user { align-self: flex-end; align-items: flex-end; }",
    ".msg.bot { align-self: flex-start; }",
    ".bubble { padding: 10px 13px; border-radius: 14px; word-wrap: break-word; overflow-wrap: anywhere; }",
    ".user .bubble { background: var(--accent); color: #fff; border-bottom-right-radius: 4px; white-space: pre-wrap; }",
    ".bot .bubble { background: var(--bg); border: 1px solid var(--line); border-bottom-left-radius: 4px; }",
    ".bot.refused .bubble { background: #fffbeb; border-color: #fde68a; }",
    ".bubble p { margin: 0 0 8px; } .bubble p:last-child { margin-bottom: 0; }",
    ".bubble p.heading { font-weight: 650; }",
    ".bubble ul, .bubble ol { margin: 0 0 8px; padding-left: 20px; } .bubble li { margin: 2px 0; }",
    ".bubble code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);",
    "  padding: 1px 5px; border-radius: 5px; }",
    ".bubble pre { margin: 0 0 8px; padding: 10px; background: #0f172a; color: #e2e8f0; border-radius: 8px; overflow-x: auto; }",
    ".bubble pre code { background: none; padding: 0; color: inherit; white-space: pre; }",
    ".bubble a { color: var(--accent); text-decoration: underline; }",
    ".cite { display: inline-block; min-width: 17px; padding: 0 4px; margin: 0 1px; border-radius: 9px; font-size: 11px;",
    "  line-height: 17px; font-weight: 600; text-align: center; vertical-align: 1px; color: var(--accent);",
    "  background: color-mix(in srgb, var(--accent) 12%, #fff); }",
    ".sources { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }",
    ".chip { display: inline-flex; align-items: center; gap: 7px; max-width: 100%; padding: 5px 10px 5px 5px;",
    "  border: 1px solid var(--line); border-radius: 12px; background: var(--bg); font-size: 12px; line-height: 1.35;",
    "  color: var(--ink); text-decoration: none; }",
    "a.chip:hover { border-color: var(--accent); }",
    ".chip-n { display: grid; place-items: center; min-width: 20px; height: 20px; border-radius: 50%; font-weight: 650; font-size: 11px;",
    "  color: var(--accent); background: color-mix(in srgb, var(--accent) 12%, #fff); }",
    ".chip-title { display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }",
    ".chip-stage { color: var(--muted); white-space: nowrap; }",
    // quiz card
    ".quiz { display: flex; flex-direction: column; gap: 10px; margin-top: 6px; }",
    ".quiz-item { border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px; margin: 0; }",
    ".quiz-item legend { font-weight: 600; padding: 0 4px; }",
    ".quiz-item.right { border-color: #86efac; background: #f0fdf4; }",
    ".quiz-item.wrong { border-color: #fca5a5; background: #fef2f2; }",
    ".option { display: block; width: 100%; text-align: left; margin: 4px 0; padding: 6px 9px; border: 1px solid var(--line);",
    "  border-radius: 8px; background: var(--bg); color: var(--ink); }",
    ".option[aria-pressed='true'] { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 10%, #fff); }",
    ".option:disabled { opacity: .8; cursor: default; }",
    ".quiz .short { width: 100%; box-sizing: border-box; padding: 6px 8px; border: 1px solid var(--line); border-radius: 8px; font: inherit; }",
    ".quiz .check { align-self: flex-start; padding: 7px 14px; border-radius: 8px; background: var(--accent); color: #fff; font-weight: 600; }",
    ".quiz .check:disabled { opacity: .6; }",
    ".shortfall { color: var(--muted); font-size: 13.5px; margin: 4px 0; }",
    ".verdict { margin: 6px 0 0; font-size: 13px; }",
    ".score { margin: 0; font-weight: 650; }",
    ".feedback { display: flex; gap: 2px; margin-top: 4px; }",
    ".feedback button { width: 28px; height: 28px; border-radius: 7px; color: var(--muted); }",
    ".feedback button svg { width: 16px; height: 16px; }",
    ".feedback button:hover { background: var(--soft); color: var(--ink); }",
    ".feedback button[aria-pressed='true'] { color: var(--accent); background: color-mix(in srgb, var(--accent) 12%, #fff); }",
    ".feedback button[aria-pressed='true'] svg { fill: color-mix(in srgb, var(--accent) 25%, transparent); }",
    ".note { margin-top: 6px; font-size: 12.5px; color: var(--muted); }",
    ".notice { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; margin-top: 8px; padding: 8px 10px; border-radius: 10px;",
    "  background: #fef2f2; border: 1px solid #fecaca; color: var(--danger); font-size: 13px; }",
    ".notice button { color: var(--danger); font-weight: 600; text-decoration: underline; }",
    ".dots { display: inline-flex; gap: 4px; padding: 4px 0; }",
    ".dots span { width: 6px; height: 6px; border-radius: 50%; background: #9ca3af; animation: rt-blink 1.2s infinite ease-in-out; }",
    ".dots span:nth-child(2) { animation-delay: .15s; } .dots span:nth-child(3) { animation-delay: .3s; }",
    "@keyframes rt-blink { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }",
    ".quick { display: flex; gap: 6px; padding: 10px 12px 0; flex-wrap: wrap; background: var(--bg); border-top: 1px solid var(--line); }",
    ".quick button { padding: 6px 11px; border-radius: 999px; border: 1px solid var(--line); font-size: 12.5px; color: var(--ink); background: var(--bg); }",
    ".quick button:hover { border-color: var(--accent); color: var(--accent); }",
    ".composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px 6px; background: var(--bg); }",
    "textarea { flex: 1; resize: none; min-height: 42px; max-height: 120px; margin: 0; padding: 10px 12px; border: 1px solid var(--line);",
    "  border-radius: 12px; font: inherit; font-size: 14px; line-height: 20px; color: var(--ink); background: var(--bg); }",
    "textarea:focus { outline: none; border-color: var(--accent); box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 18%, transparent); }",
    "textarea::placeholder { color: #9ca3af; }",
    ".send { width: 42px; height: 42px; border-radius: 12px; background: var(--accent); color: #fff; flex: none; }",
    ".send:disabled { opacity: .45; cursor: default; }",
    ".footer { padding: 0 14px 10px; font-size: 11px; color: var(--muted); background: var(--bg); }",
    // "My roadmap"
    ".mapping .log, .mapping .quick, .mapping .composer { display: none; }",
    ".map { flex: 1; overflow-y: auto; padding: 12px 14px 16px; background: #fafafa; overscroll-behavior: contain; outline: none; }",
    ".map-head { display: flex; align-items: center; gap: 8px; margin-bottom: 10px; }",
    ".map-head h3 { margin: 0; font-size: 15px; font-weight: 650; }",
    ".map-back { padding: 5px 9px; border-radius: 8px; border: 1px solid var(--line); background: var(--bg); font-size: 12.5px; }",
    ".map-back:hover { border-color: var(--accent); color: var(--accent); }",
    ".map-note { color: var(--muted); font-size: 13px; margin: 6px 0; }",
    ".next-step { border: 2px solid var(--accent); border-radius: 12px; background: color-mix(in srgb, var(--accent) 6%, #fff); padding: 10px 12px; margin-bottom: 10px; }",
    ".next-step p { margin: 0 0 4px; }",
    ".next-label { font-size: 11.5px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; color: var(--accent); }",
    ".next-name { font-weight: 650; font-size: 14.5px; }",
    ".next-why, .next-time { font-size: 12.5px; color: #374151; }",
    ".actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }",
    ".actions button { padding: 5px 10px; border-radius: 999px; border: 1px solid var(--accent); color: var(--accent); background: var(--bg); font-size: 12.5px; font-weight: 600; }",
    ".actions button.primary { background: var(--accent); color: #fff; }",
    ".legend { display: flex; flex-wrap: wrap; gap: 10px; list-style: none; margin: 0 0 10px; padding: 0; font-size: 12px; color: var(--muted); }",
    ".legend li { display: inline-flex; align-items: center; gap: 4px; }",
    ".mark { display: inline-grid; place-items: center; width: 16px; height: 16px; border-radius: 50%; font-size: 11px; font-weight: 700; flex: none; }",
    ".st-mastered .mark, .mark.st-mastered { background: #15803d; color: #fff; }",
    ".st-in_progress .mark, .mark.st-in_progress { background: #fef3c7; color: #92400e; border: 1px solid #d97706; }",
    ".st-not_started .mark, .mark.st-not_started { background: #fff; color: #6b7280; border: 1px dashed #9ca3af; }",
    ".path { list-style: none; margin: 0; padding: 0; }",
    ".stage { position: relative; padding: 0 0 10px 46px; }",
    ".stage:not(:last-child)::before { content: ''; position: absolute; left: 19px; top: 40px; bottom: 0; width: 2px; background: var(--line); }",
    ".stage .ring { position: absolute; left: 2px; top: 2px; width: 36px; height: 36px; }",
    ".ring .track { stroke: var(--line); } .ring .done { stroke: #15803d; } .ring .doing { stroke: #d97706; }",
    ".ring text { fill: var(--ink); stroke: none; font: 700 12px system-ui, sans-serif; }",
    ".stage-head { display: flex; flex-direction: column; align-items: flex-start; gap: 1px; width: 100%; text-align: left; padding: 4px 8px 6px;",
    "  border-radius: 10px; border: 1px solid var(--line); background: var(--bg); }",
    ".stage-head:hover { border-color: var(--accent); }",
    ".stage-weeks { font-size: 11.5px; color: var(--muted); font-weight: 600; }",
    ".stage-title { font-weight: 650; font-size: 13.5px; line-height: 1.3; }",
    ".stage-meta { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 11.5px; color: var(--muted); }",
    ".badge { padding: 1px 7px; border-radius: 999px; font-weight: 600; font-size: 11px; }",
    ".badge.ms-ready { background: #dcfce7; color: #166534; } .badge.ms-in_progress { background: #fef3c7; color: #92400e; }",
    ".badge.ms-not_started { background: var(--soft); color: var(--muted); }",
    ".stage-body { padding: 8px 2px 2px; }",
    ".milestone { font-size: 12px; color: #374151; margin: 8px 0 0; }",
    ".quiz-stage { margin-top: 8px; padding: 5px 10px; border-radius: 999px; border: 1px solid var(--accent); color: var(--accent); background: var(--bg); font-size: 12.5px; font-weight: 600; }",
    ".concepts { display: flex; flex-wrap: wrap; gap: 5px; list-style: none; margin: 0; padding: 0; }",
    ".concept { gap: 5px; padding: 3px 9px 3px 4px; border-radius: 999px; font-size: 12px; line-height: 1.35; border: 1px solid var(--line); background: var(--bg); text-align: left; }",
    ".concept.st-mastered { background: #f0fdf4; border-color: #86efac; color: #14532d; }",
    ".concept.st-in_progress { background: #fffbeb; border-color: #fcd34d; color: #78350f; }",
    ".concept.st-not_started { color: #374151; }",
    ".concept.next { border: 2px solid var(--accent); box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 18%, transparent); font-weight: 650; }",
    ".concept[aria-expanded='true'] { outline: 2px solid var(--ink); outline-offset: 1px; }",
    ".next-tag { margin-left: 2px; padding: 0 5px; border-radius: 6px; background: var(--accent); color: #fff; font-size: 10.5px; font-weight: 700; }",
    ".concept-actions { margin-top: 8px; padding: 8px 10px; border-radius: 10px; border: 1px solid var(--line); background: var(--bg); font-size: 12.5px; }",
    ".concept-actions p { margin: 0 0 4px; }",
    ".link { margin-top: 8px; padding-top: 10px; border-top: 1px solid var(--line); font-size: 12.5px; }",
    ".link-discord { padding: 6px 11px; border-radius: 999px; border: 1px solid var(--line); background: var(--bg); }",
    ".link-discord:hover { border-color: var(--accent); color: var(--accent); }",
    ".link-result { margin: 6px 0 0; } .link-result:empty { display: none; }",
    ".link-code { font: 600 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft); padding: 1px 5px; border-radius: 5px; user-select: all; }",
    "@media (max-width: 600px) {",
    "  .panel { inset: 0; width: 100%; height: 100%; max-height: none; border-radius: 0; border: 0; }",
    "  :host([open]) .launcher { display: none; }",
    "  textarea { font-size: 16px; }", // no zoom-on-focus on iOS
    "  .msg { max-width: 92%; }",
    "}"
  ].join("\n");

  // ---------------------------------------------------------------------------------------
  // The element

  class RoadmapTutor extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      this.tutorUrl = (this.getAttribute("tutor-url") || defaultTutorUrl()).replace(/\/+$/, "");
      this.stage = Number(this.getAttribute("stage")) || null;
      this.storageKey = "roadmap-tutor:" + this.tutorUrl + ":conversation";
      this.conversationId = store.get(this.storageKey);
      this.busy = false;
      this.controller = null;
      this.build(this.getAttribute("heading") || "Roadmap Tutor");
      this.ready = this.restore().catch(() => { /* history is a convenience, never a blocker */ });
    }

    api(path) { return this.tutorUrl + path; }

    // -- layout ---------------------------------------------------------------------------

    build(heading) {
      var shadow = this.attachShadow({ mode: "open" });
      // A constructed stylesheet is CSSOM, not an inline <style>: a host page whose
      // Content-Security-Policy forbids inline styles still styles the widget.
      if ("adoptedStyleSheets" in shadow && "replaceSync" in CSSStyleSheet.prototype) {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        shadow.adoptedStyleSheets = [sheet];
      } else {
        shadow.appendChild(el("style", null, STYLE));
      }
      var root = shadow.appendChild(el("div", "root"));

      var launcher = this.launcher = button("launcher", "Open the roadmap tutor");
      launcher.appendChild(icon("chat")).classList.add("i-chat");
      launcher.appendChild(icon("close")).classList.add("i-close");
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-controls", "rt-panel");
      launcher.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));

      var panel = this.panel = el("div", "panel");
      panel.id = "rt-panel";
      panel.hidden = true;
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-modal", "false");
      panel.setAttribute("aria-labelledby", "rt-title");
      root.addEventListener("keydown", (e) => {
        if (e.key === "Escape" && this.isOpen()) { e.stopPropagation(); this.close(); }
      });

      var header = panel.appendChild(el("div", "header"));
      header.appendChild(el("div", "avatar")).appendChild(icon("chat"));
      var titles = header.appendChild(el("div", "titles"));
      titles.appendChild(el("h2", "title", heading)).id = "rt-title";
      titles.appendChild(el("p", "subtitle", "Cited answers from the roadmap"));
      var fresh = header.appendChild(button("icon-btn new-chat", "Start a new conversation", "plus"));
      fresh.title = "New conversation";
      fresh.addEventListener("click", () => this.newConversation());
      var closer = header.appendChild(button("icon-btn close", "Close the tutor", "close"));
      closer.addEventListener("click", () => this.close());

      var log = this.log = panel.appendChild(el("div", "log"));
      log.setAttribute("role", "log");
      log.setAttribute("aria-live", "polite");
      log.setAttribute("aria-label", "Conversation with the tutor");
      this.welcome = log.appendChild(el("div", "welcome"));
      this.welcome.appendChild(el("strong", null, "Hi! How can I help with the roadmap?"));
      this.welcome.appendChild(document.createTextNode(
        "Ask about stages, concepts, resources, papers or careers. Every answer cites the roadmap material it uses."));

      var quick = panel.appendChild(el("div", "quick"));
      quick.setAttribute("role", "group");
      quick.setAttribute("aria-label", "Quick actions");
      quick.appendChild(button("next", null, null, "What should I learn next?"))
        .addEventListener("click", () => this.askWhatNext());
      quick.appendChild(button("quiz", null, null, "Quiz me on this stage"))
        .addEventListener("click", () => this.quizMe());
      this.mapButton = quick.appendChild(button("map-open", null, null, "My roadmap"));
      this.mapButton.setAttribute("aria-controls", "rt-map");
      this.mapButton.addEventListener("click", () => this.showMap());

      // "My roadmap": replaces the conversation while shown (see showMap).
      var map = this.map = panel.appendChild(el("section", "map"));
      map.id = "rt-map";
      map.hidden = true;
      map.setAttribute("aria-labelledby", "rt-map-title");
      map.tabIndex = -1;

      var composer = panel.appendChild(el("form", "composer"));
      var input = this.input = composer.appendChild(el("textarea"));
      input.rows = 1;
      input.placeholder = "Ask about the roadmap…";
      input.setAttribute("aria-label", "Your question");
      input.maxLength = 2000;
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
      });
      input.addEventListener("input", () => this.fitInput());
      var send = this.sendButton = composer.appendChild(button("send", "Send", "send"));
      send.type = "submit";
      composer.addEventListener("submit", (e) => { e.preventDefault(); this.busy ? this.stop() : this.submit(); });
      panel.appendChild(el("div", "footer", "AI answers can be wrong: check the cited sources."));

      root.appendChild(panel);
      root.appendChild(launcher);
    }

    fitInput() {
      this.input.style.height = "auto";
      this.input.style.height = Math.min(this.input.scrollHeight + 2, 120) + "px";
    }

    isOpen() { return !this.panel.hidden; }

    open() {
      this.panel.hidden = false;
      this.setAttribute("open", "");
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcher.setAttribute("aria-label", "Close the roadmap tutor");
      this.scrollToEnd();
      this.input.focus();
    }

    close() {
      this.panel.hidden = true;
      this.removeAttribute("open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.setAttribute("aria-label", "Open the roadmap tutor");
      this.launcher.focus();
    }

    scrollToEnd() { this.log.scrollTop = this.log.scrollHeight; }

    // -- conversation across reloads -----------------------------------------------------

    async restore() {
      if (!this.conversationId) return;
      var response;
      try {
        response = await fetch(this.api("/api/conversations/" + encodeURIComponent(this.conversationId)));
      } catch (e) {
        return; // offline: keep the id, the next message continues the conversation
      }
      if (response.status === 404) { this.forgetConversation(); return; }
      if (!response.ok) return;
      var body = await response.json();
      (body.messages || []).forEach((m) => {
        if (m.role === "user") { this.addUser(m.content); return; }
        var view = this.addBot({ id: m.id, refused: m.status === "refused" });
        view.content = m.content;
        view.citations = m.citations || [];
        this.renderBot(view);
        if (m.status === "ok" || m.status === "refused") this.finishBot(view);
        else if (m.status === "failed") view.node.appendChild(el("div", "note", "This answer was interrupted."));
      });
      this.scrollToEnd();
    }

    rememberConversation(id) {
      this.conversationId = id;
      store.set(this.storageKey, id);
    }

    forgetConversation() {
      if (this.conversationId) store.remove(this.ratingsKey());
      this.conversationId = null;
      store.remove(this.storageKey);
    }

    newConversation() {
      this.stop();
      this.hideMap();
      this.forgetConversation();
      [].slice.call(this.log.querySelectorAll(".msg")).forEach((n) => n.remove());
      this.welcome.hidden = false;
      this.input.focus();
    }

    // -- learner ----------------------------------------------------------------------------

    // The site's own user id when the tag passes data-learner-id, else an anonymous id kept
    // in this browser. The profile is created on first use (PUT is create-or-update).
    async learner() {
      if (this.learnerId) return this.learnerId;
      var key = "roadmap-tutor:" + this.tutorUrl + ":learner";
      var id = this.getAttribute("learner-id") || store.get(key) || ("web-" + randomId());
      if (store.get(key + ":created") !== id) {
        var response;
        try {
          response = await fetch(this.api("/api/learners/" + encodeURIComponent(id)), {
            method: "PUT",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(this.stage ? { current_stage: this.stage } : {})
          });
        } catch (e) { throw new Unavailable(); }
        if (response.status >= 500) throw new Unavailable();
        if (!response.ok) throw new Shown(await errorDetail(response));
        store.set(key + ":created", id);
      }
      store.set(key, id);
      this.learnerId = id;
      return id;
    }

    // -- quick actions --------------------------------------------------------------------

    // Sent with the learner's id, the question is answered by the recommender (computed
    // from the prerequisite graph and the learner's mastery), then explained with sources.
    askWhatNext() {
      return this.send("What should I learn next?", { learner: true });
    }

    // A short quiz from the server's checked bank, graded by the server: on a stage, or on
    // one concept (`concept`: {id, name, stage} from /api/roadmap; only its questions).
    async quizMe(forStage, concept) {
      if (this.busy) return;
      if (!this.isOpen()) this.open();
      this.hideMap();
      this.setBusy(true);
      await this.ready;
      var stage = concept ? concept.stage : forStage || this.stage || 1;
      var asked = this.addUser(concept ? "Quiz me on " + concept.name : "Quiz me on stage " + stage);
      var view = this.addBot();
      this.renderBot(view);
      try {
        var learner = await this.learner();
        var response;
        var wanted = concept ? { concept: concept.id } : { stage: stage };
        try {
          response = await fetch(this.api("/api/quizzes"), {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(Object.assign(wanted, { count: 3, learner_id: learner }))
          });
        } catch (e) { throw new Unavailable(); }
        if (response.status >= 500 && response.status !== 503) throw new Unavailable();
        if (!response.ok) throw new Shown(await errorDetail(response));
        this.renderQuiz(view, await response.json(), learner, concept);
      } catch (error) {
        this.showFailure(view, error, () => { asked.remove(); view.node.remove(); this.quizMe(forStage, concept); });
      } finally {
        this.setBusy(false);
        this.scrollToEnd();
      }
    }

    renderQuiz(view, quiz, learner, concept) {
      var topic = concept ? concept.name + " (stage " + quiz.stage + ")" : "Stage " + quiz.stage;
      var form = el("form", "quiz");
      form.setAttribute("aria-label", "Practice quiz, " + (concept ? concept.name : "stage " + quiz.stage));
      var picks = {};
      quiz.items.forEach((item, i) => {
        var box = form.appendChild(el("fieldset", "quiz-item"));
        box.dataset.itemId = item.id;
        box.appendChild(el("legend", null, (i + 1) + ". " + item.question));
        var choices = item.kind === "mcq" ? item.options.map((o, j) => [j, o])
          : item.kind === "tf" ? [[true, "True"], [false, "False"]] : null;
        if (choices) {
          choices.forEach((pair) => {
            var b = box.appendChild(button("option", null, null, String(pair[1])));
            b.setAttribute("aria-pressed", "false");
            b.addEventListener("click", () => {
              picks[item.id] = pair[0];
              box.querySelectorAll(".option").forEach((o) => o.setAttribute("aria-pressed", String(o === b)));
            });
          });
        } else {
          var input = box.appendChild(el("input", "short"));
          input.setAttribute("aria-label", "Your answer to question " + (i + 1));
          input.addEventListener("input", () => { picks[item.id] = input.value.trim(); });
        }
      });
      var check = form.appendChild(button("check", null, null, "Check answers"));
      check.type = "submit";
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        var answers = quiz.items.filter((it) => picks[it.id] !== undefined && picks[it.id] !== "")
          .map((it) => it.kind === "mcq" ? { item_id: it.id, choice: picks[it.id] }
                                         : { item_id: it.id, answer: picks[it.id] });
        if (!answers.length) return;
        check.disabled = true;
        var old = form.querySelector(".note");
        if (old) old.remove();
        try {
          var response;
          try {
            response = await fetch(this.api("/api/quizzes/" + encodeURIComponent(quiz.quiz_id) + "/answers"), {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ learner_id: learner, answers: answers })
            });
          } catch (err) { throw new Unavailable(); }
          if (response.status >= 500) throw new Unavailable();
          if (!response.ok) throw new Shown(await errorDetail(response));
          this.renderGrades(form, await response.json());
        } catch (error) {
          check.disabled = false;
          form.appendChild(el("div", "note", error.message || UNAVAILABLE));
        }
      });
      var intro = [el("p", null, topic + " practice: answer, then check.")];
      // The bank held fewer items than asked for: the server says how many (never a silently shorter quiz).
      if (quiz.message) intro.push(el("p", "shortfall", quiz.message));
      view.bubble.replaceChildren(...intro, form);
    }

    renderGrades(form, graded) {
      var byId = {};
      graded.results.forEach((r) => { byId[r.item_id] = r; });
      form.querySelectorAll(".quiz-item").forEach((box) => {
        var r = byId[box.dataset.itemId];
        if (!r) return;
        box.querySelectorAll("button, input").forEach((c) => { c.disabled = true; });
        box.classList.add(r.correct ? "right" : "wrong");
        var key = r.key && (r.key.text !== undefined ? r.key.text : String(r.key.answer));
        var verdict = box.appendChild(el("p", "verdict",
          (r.correct ? "Correct. " : r.answered ? "Not quite: the answer is " + key + ". " : "Answer: " + key + ". ")
          + (r.explanation || "")));
        verdict.setAttribute("role", "status");
        if (r.citation) box.appendChild(sourceChips([Object.assign({ n: "i" }, r.citation)]));
      });
      var check = form.querySelector(".check");
      if (check) check.remove();
      form.appendChild(el("p", "score", graded.correct + " of " + graded.total + " correct."));
      this.scrollToEnd();
    }

    // -- "My roadmap" ---------------------------------------------------------------------
    // The four stages as a path with their weeks, each concept marked by the learner's
    // mastery, the computed next step with its reason, and each stage's milestone. Data:
    // GET /api/roadmap, /api/learners/{id} (progress) and /api/learners/{id}/next.

    async getJson(path) {
      var response;
      try {
        response = await fetch(this.api(path));
      } catch (e) { throw new Unavailable(); }
      if (response.status >= 500) throw new Unavailable();
      if (!response.ok) throw new Shown(await errorDetail(response));
      return response.json();
    }

    async showMap() {
      if (!this.isOpen()) this.open();
      this.panel.classList.add("mapping");
      this.map.hidden = false;
      this.mapButton.setAttribute("aria-expanded", "true");
      this.map.replaceChildren(this.mapHeader(), el("p", "map-note", "Loading your roadmap…"));
      this.map.setAttribute("aria-busy", "true");
      this.map.focus();
      try {
        var learner = await this.learner();
        var path = "/api/learners/" + encodeURIComponent(learner);
        var got = await Promise.all([
          this.roadmapData || this.getJson("/api/roadmap"),
          this.getJson(path),
          // computed by the server; while the model loads it may be 503: draw the map without it
          this.getJson(path + "/next?limit=1").catch(() => null)
        ]);
        this.roadmapData = got[0];
        this.renderMap(got[0], got[1], got[2], learner);
      } catch (error) {
        var notice = el("div", "notice");
        notice.setAttribute("role", "alert");
        notice.appendChild(el("span", null, error instanceof Shown ? error.message : UNAVAILABLE));
        notice.appendChild(button("retry", null, null, "Try again")).addEventListener("click", () => this.showMap());
        this.map.replaceChildren(this.mapHeader(), notice);
      } finally {
        this.map.setAttribute("aria-busy", "false");
      }
    }

    hideMap() {
      if (this.map.hidden) return;
      this.map.hidden = true;
      this.panel.classList.remove("mapping");
      this.mapButton.setAttribute("aria-expanded", "false");
    }

    mapHeader() {
      var head = el("div", "map-head");
      head.appendChild(button("map-back", "Back to the chat", "back", "Chat"))
        .addEventListener("click", () => { this.hideMap(); this.input.focus(); });
      head.appendChild(el("h3", null, "My roadmap")).id = "rt-map-title";
      return head;
    }

    renderMap(roadmap, learner, next, learnerId) {
      var status = {};
      var byStage = {};
      (learner.progress || []).forEach((p) => {
        byStage[p.stage] = p;
        Object.keys(MASTERY).forEach((k) => (p[k] || []).forEach((cid) => { status[cid] = k; }));
      });
      var concepts = {};
      roadmap.concepts.forEach((c) => { concepts[c.id] = c; });
      var step = next && next.next && next.next[0];
      var parts = [this.mapHeader()];

      if (step && concepts[step.concept]) {
        var card = el("div", "next-step");
        card.setAttribute("role", "group");
        card.setAttribute("aria-label", "Your next step");
        card.appendChild(el("p", "next-label", "Your next step"));
        card.appendChild(el("p", "next-name", step.name + " \u00b7 stage " + step.stage));
        card.appendChild(el("p", "next-why", "Why: " + step.why + "."));
        card.appendChild(el("p", "next-time", step.time.charAt(0).toUpperCase() + step.time.slice(1) + " at your pace."));
        card.appendChild(this.conceptButtons(concepts[step.concept]));
        parts.push(card);
      } else if (next && next.finished) {
        parts.push(el("p", "map-note", "You have mastered every concept of the roadmap."));
      } else if (!next) {
        parts.push(el("p", "map-note", "Your next step will show here once the tutor has finished loading."));
      }

      var legend = el("ul", "legend");
      legend.setAttribute("aria-label", "Legend");
      Object.keys(MASTERY).forEach((k) => {
        var item = legend.appendChild(el("li"));
        item.appendChild(el("span", "mark st-" + k, MASTERY[k].glyph)).setAttribute("aria-hidden", "true");
        item.appendChild(el("span", null, MASTERY[k].word));
      });
      parts.push(legend);

      var open = step ? step.stage : (learner.current_stage || 1);
      var path = el("ol", "path");
      path.setAttribute("aria-label", "Roadmap stages");
      roadmap.stages.forEach((stage) => {
        var p = byStage[stage.id] || { mastered: [], in_progress: [], not_started: [], milestone_status: "not_started" };
        path.appendChild(this.stageNode(stage, p, roadmap.concepts.filter((c) => c.stage === stage.id),
                                        status, step, stage.id === open));
      });
      parts.push(path);
      parts.push(this.linkDiscord(learnerId));
      this.map.replaceChildren.apply(this.map, parts);
    }

    stageNode(stage, p, concepts, status, step, isOpen) {
      var node = el("li", "stage ms-" + p.milestone_status);
      node.dataset.stage = stage.id;
      var total = concepts.length || 1;
      node.appendChild(progressRing(stage.id, p.mastered.length / total, p.in_progress.length / total));
      var bodyId = "rt-stage-" + stage.id;
      var head = node.appendChild(button("stage-head"));
      head.setAttribute("aria-expanded", String(isOpen));
      head.setAttribute("aria-controls", bodyId);
      head.appendChild(el("span", "stage-weeks", "Stage " + stage.id + " \u00b7 weeks " + stage.weeks[0] + "\u2013" + stage.weeks[1]));
      head.appendChild(el("span", "stage-title", stage.title));
      var meta = head.appendChild(el("span", "stage-meta"));
      meta.appendChild(el("span", "badge ms-" + p.milestone_status, MILESTONE[p.milestone_status]));
      meta.appendChild(el("span", "counts", p.mastered.length + " mastered \u00b7 " + p.in_progress.length +
                          " in progress \u00b7 " + p.not_started.length + " not started"));

      var body = node.appendChild(el("div", "stage-body"));
      body.id = bodyId;
      body.hidden = !isOpen;
      head.addEventListener("click", () => {
        body.hidden = !body.hidden;
        head.setAttribute("aria-expanded", String(!body.hidden));
      });
      var list = body.appendChild(el("ul", "concepts"));
      list.setAttribute("aria-label", "Concepts of stage " + stage.id);
      var actions = el("div", "concept-actions");
      actions.id = "rt-actions-" + stage.id;
      actions.hidden = true;
      actions.setAttribute("role", "region");
      concepts.forEach((c) => {
        var state = status[c.id] || "not_started";
        var isNext = !!step && step.concept === c.id;
        var chip = list.appendChild(el("li")).appendChild(button("concept st-" + state + (isNext ? " next" : "")));
        chip.dataset.concept = c.id;
        chip.dataset.status = state;
        chip.setAttribute("aria-label", c.name + ": " + MASTERY[state].word + (isNext ? ", your next step" : ""));
        chip.setAttribute("aria-expanded", "false");
        chip.setAttribute("aria-controls", actions.id);
        chip.appendChild(el("span", "mark", MASTERY[state].glyph)).setAttribute("aria-hidden", "true");
        chip.appendChild(el("span", null, c.name));
        if (isNext) chip.appendChild(el("span", "next-tag", "Next")).setAttribute("aria-hidden", "true");
        chip.addEventListener("click", () => this.pickConcept(chip, c, state, actions, list));
      });
      body.appendChild(actions);
      body.appendChild(el("p", "milestone", "Milestone: " + stage.milestone));
      body.appendChild(button("quiz-stage", null, null, "Quiz me on stage " + stage.id))
        .addEventListener("click", () => this.quizMe(stage.id));
      return node;
    }

    // A concept's choices, under its stage: ask the tutor about it, or a quiz on it.
    pickConcept(chip, concept, state, actions, list) {
      var wasOpen = chip.getAttribute("aria-expanded") === "true";
      list.querySelectorAll(".concept").forEach((b) => b.setAttribute("aria-expanded", "false"));
      if (wasOpen) { actions.hidden = true; return; }
      chip.setAttribute("aria-expanded", "true");
      actions.setAttribute("aria-label", concept.name);
      actions.replaceChildren(el("p", null, concept.name + " \u2014 " + MASTERY[state].word + "."),
                              el("p", "map-note", shorten(concept.summary, 220)),
                              this.conceptButtons(concept));
      actions.hidden = false;
      actions.querySelector("button").focus();
    }

    conceptButtons(concept) {
      var row = el("div", "actions");
      row.appendChild(button("ask-concept primary", null, null, "Ask about it"))
        .addEventListener("click", () => this.send("What is " + concept.name + ", and where does it fit in stage " +
                                                    concept.stage + " of the roadmap?"));
      row.appendChild(button("quiz-concept", null, null, "Quiz me on " + concept.name))
        .addEventListener("click", () => this.quizMe(concept.stage, concept));
      return row;
    }

    // A one-time code that joins a Discord account to this learner (`/link CODE` there).
    linkDiscord(learnerId) {
      var box = el("div", "link");
      var start = box.appendChild(button("link-discord", null, "link", "Link Discord"));
      var result = box.appendChild(el("p", "link-result"));
      result.setAttribute("role", "status");
      start.addEventListener("click", async () => {
        start.disabled = true;
        try {
          var response;
          try {
            response = await fetch(this.api("/api/learners/" + encodeURIComponent(learnerId) + "/link-codes"),
                                   { method: "POST" });
          } catch (e) { throw new Unavailable(); }
          if (response.status === 404 || response.status === 405) throw new Shown("Discord linking is not set up on this tutor.");
          if (response.status >= 500) throw new Unavailable();
          if (!response.ok) throw new Shown(await errorDetail(response));
          var body = await response.json();
          var minutes = Math.max(1, Math.round(body.expires_in / 60));
          result.replaceChildren("Your code: ", el("code", "link-code", body.code), ". Type ",
                                 el("code", null, "/link " + body.code), " in Discord; expires in " + minutes +
                                 (minutes === 1 ? " minute." : " minutes."));
          result.scrollIntoView({ block: "nearest" });
        } catch (error) {
          result.replaceChildren(error.message || UNAVAILABLE);
        } finally {
          start.disabled = false;
        }
      });
      return box;
    }

    // -- messages ---------------------------------------------------------------------------

    addUser(text) {
      this.welcome.hidden = true;
      var node = this.log.appendChild(el("div", "msg user"));
      node.appendChild(el("div", "bubble", text));
      this.scrollToEnd();
      return node;
    }

    addBot(fields) {
      this.welcome.hidden = true;
      var node = this.log.appendChild(el("div", "msg bot"));
      var bubble = node.appendChild(el("div", "bubble"));
      var view = { node: node, bubble: bubble, id: null, content: "", citations: [], refused: false };
      Object.assign(view, fields || {});
      if (view.id) node.dataset.messageId = view.id;
      return view;
    }

    renderBot(view) {
      view.node.classList.toggle("refused", !!view.refused);
      view.bubble.replaceChildren(view.content
        ? renderMarkdown(view.content, view.citations)
        : typingDots());
      var old = view.node.querySelector(".sources");
      if (old) old.remove();
      if (view.citations.length) view.bubble.after(sourceChips(view.citations));
    }

    finishBot(view) {
      if (!view.id || view.node.querySelector(".feedback")) return;
      var bar = view.node.appendChild(el("div", "feedback"));
      bar.setAttribute("role", "group");
      bar.setAttribute("aria-label", "Rate this answer");
      var saved = this.ratings()[view.id];
      [["up", "Helpful answer"], ["down", "Unhelpful answer"]].forEach((pair) => {
        var b = bar.appendChild(button("rate-" + pair[0], pair[1], pair[0]));
        b.setAttribute("aria-pressed", String(saved === pair[0]));
        b.addEventListener("click", () => this.rate(view, pair[0], bar));
      });
    }

    ratingsKey() { return "roadmap-tutor:" + this.tutorUrl + ":ratings:" + this.conversationId; }

    ratings() {
      try { return JSON.parse(store.get(this.ratingsKey()) || "{}"); } catch (e) { return {}; }
    }

    async rate(view, rating, bar) {
      var buttons = bar.querySelectorAll("button");
      var previous = [].map.call(buttons, (b) => b.getAttribute("aria-pressed"));
      if (bar.querySelector(".rate-" + rating).getAttribute("aria-pressed") === "true") return;
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.classList.contains("rate-" + rating))));
      var note = bar.querySelector(".note");
      if (note) note.remove();
      try {
        var response = await fetch(this.api("/api/feedback"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ message_id: view.id, rating: rating })
        });
        if (!response.ok) throw new Error(String(response.status));
        var all = this.ratings();
        all[view.id] = rating;
        store.set(this.ratingsKey(), JSON.stringify(all));
      } catch (e) {
        buttons.forEach((b, i) => b.setAttribute("aria-pressed", previous[i]));
        bar.appendChild(el("span", "note", "Couldn't send feedback."));
      }
    }

    // -- asking -------------------------------------------------------------------------

    submit() {
      var text = this.input.value.trim();
      if (!text || this.busy) return;
      this.input.value = "";
      this.fitInput();
      this.send(text);
    }

    stop() {
      if (this.controller) this.controller.abort();
    }

    setBusy(busy) {
      this.busy = busy;
      this.log.setAttribute("aria-busy", String(busy)); // announce the answer once, when complete
      this.sendButton.replaceChildren(icon(busy ? "stop" : "send"));
      this.sendButton.setAttribute("aria-label", busy ? "Stop the answer" : "Send");
    }

    async send(text, options) {
      text = String(text || "").trim();
      if (!text || this.busy) return;
      if (!this.isOpen()) this.open();
      this.hideMap();
      this.setBusy(true);
      this.controller = new AbortController();
      await this.ready;
      var asked = this.addUser(text);
      var view = this.addBot();
      this.renderBot(view);
      try {
        await this.stream(text, options || {}, view, this.controller.signal, true);
      } catch (error) {
        this.showFailure(view, error, () => { asked.remove(); view.node.remove(); this.send(text, options); });
      } finally {
        this.controller = null;
        this.setBusy(false);
        this.scrollToEnd();
      }
    }

    async stream(text, options, view, signal, mayRetry) {
      var body = { message: text, stream: true };
      if (this.conversationId) body.conversation_id = this.conversationId;
      if (options.stage) body.stage = options.stage;
      if (options.learner || this.learnerId) body.learner_id = await this.learner();
      var response;
      try {
        response = await fetch(this.api("/api/chat"), {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify(body),
          signal: signal
        });
      } catch (error) {
        if (error && error.name === "AbortError") throw error;
        throw new Unavailable();
      }
      if (response.status === 404 && body.conversation_id && mayRetry) {
        this.forgetConversation(); // erased on the server: start a new one
        return this.stream(text, options, view, signal, false);
      }
      if (response.status >= 500) throw new Unavailable();
      if (!response.ok) throw new Shown(await errorDetail(response));

      var finished = false;
      var pending = false;
      var paint = () => { pending = false; this.renderBot(view); this.scrollToEnd(); };
      try {
        await readEvents(response, (message) => {
          var data = message.data;
          if (message.event === "meta") {
            if (data.conversation_id) this.rememberConversation(data.conversation_id);
            view.id = data.message_id;
            view.node.dataset.messageId = data.message_id;
            view.refused = !!data.refused;
          } else if (message.event === "token") {
            view.content += data.text;
            if (!pending) { pending = true; requestAnimationFrame(paint); }
          } else if (message.event === "citations") {
            view.citations = data || [];
          } else if (message.event === "done") {
            view.content = data.answer; // the checked answer replaces the streamed draft
            view.citations = data.citations || view.citations;
            view.refused = !!data.refused;
            view.heldBack = data.held_back || [];
            finished = true;
          } else if (message.event === "error") {
            throw data.status >= 500 ? new Unavailable() : new Shown(data.message);
          }
        });
      } catch (error) {
        if (error instanceof Shown || error instanceof Unavailable || (error && error.name === "AbortError")) throw error;
        throw new Unavailable(); // the connection broke mid-answer
      }
      if (!finished) throw new Unavailable();
      this.renderBot(view);
      if (view.heldBack.length) {
        var held = view.node.appendChild(el("div", "note held-back",
          (view.heldBack.length === 1 ? "1 sentence was left out: the roadmap material does not support it."
            : view.heldBack.length + " sentences were left out: the roadmap material does not support them.")));
        held.title = view.heldBack.join("\n");
      }
      this.finishBot(view);
    }

    showFailure(view, error, retry) {
      if (view.content) this.renderBot(view); // keep what was streamed before the failure
      else view.bubble.remove();
      if (error && error.name === "AbortError") {
        view.node.appendChild(el("div", "note", "Stopped."));
        return;
      }
      var notice = view.node.appendChild(el("div", "notice"));
      notice.setAttribute("role", "alert");
      notice.appendChild(el("span", null, error instanceof Shown ? error.message : UNAVAILABLE));
      if (!(error instanceof Shown)) {
        notice.appendChild(button("retry", null, null, "Try again")).addEventListener("click", retry);
      }
      this.input.focus();
    }
  }

  // A ring per stage: the share mastered (green) then in progress (amber), the stage
  // number in the middle. Decorative: the stage's heading says the same in words.
  function progressRing(n, done, doing) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 36 36");
    svg.setAttribute("class", "ring");
    svg.setAttribute("aria-hidden", "true");
    var around = 2 * Math.PI * 15;
    [["track", 1, 0], ["done", done, 0], ["doing", doing, done]].forEach((arc) => {
      if (arc[0] !== "track" && arc[1] <= 0) return;
      var c = svg.appendChild(document.createElementNS(ns, "circle"));
      c.setAttribute("class", arc[0]);
      c.setAttribute("cx", "18"); c.setAttribute("cy", "18"); c.setAttribute("r", "15");
      c.setAttribute("stroke-width", "4");
      c.setAttribute("stroke-dasharray", (arc[1] * around).toFixed(2) + " " + around.toFixed(2));
      c.setAttribute("stroke-dashoffset", (-arc[2] * around).toFixed(2));
      c.setAttribute("transform", "rotate(-90 18 18)");
    });
    var label = svg.appendChild(document.createElementNS(ns, "text"));
    label.setAttribute("x", "18"); label.setAttribute("y", "22"); label.setAttribute("text-anchor", "middle");
    label.textContent = String(n);
    return svg;
  }

  function shorten(text, size) {
    text = String(text || "");
    return text.length <= size ? text : text.slice(0, size - 1).replace(/\s+\S*$/, "") + "\u2026";
  }

  function typingDots() {
    var dots = el("span", "dots");
    dots.setAttribute("aria-label", "The tutor is writing");
    dots.append(el("span"), el("span"), el("span"));
    return dots;
  }

  function sourceChips(citations) {
    var box = el("div", "sources");
    box.setAttribute("aria-label", "Sources");
    citations.forEach((c) => {
      var href = c.source ? safeHttpUrl(c.source) : null;
      var chip = el(href ? "a" : "span", "chip");
      if (href) { chip.href = href; chip.target = "_blank"; chip.rel = "noopener noreferrer"; }
      chip.title = c.title + (c.source ? " (" + c.source + ")" : "");
      chip.appendChild(el("span", "chip-n", String(c.n)));
      chip.appendChild(el("span", "chip-title", c.title));
      if (c.stage != null) chip.appendChild(el("span", "chip-stage", "Stage " + c.stage));
      box.appendChild(chip);
    });
    return box;
  }

  async function errorDetail(response) {
    try {
      var body = await response.json();
      if (typeof body.detail === "string") return body.detail;
    } catch (e) { /* not JSON */ }
    return "The tutor could not answer that (HTTP " + response.status + ").";
  }

  function defaultTutorUrl() {
    var own = script && script.dataset.tutorUrl;
    if (own) return own;
    if (script && script.src) return new URL(".", script.src).href; // the folder widget.js came from
    return window.location.origin;
  }

  // ---------------------------------------------------------------------------------------
  // Mount: one element per page, created from the script tag's data-* options.

  if (!customElements.get(TAG)) customElements.define(TAG, RoadmapTutor);

  function mount() {
    if (document.querySelector(TAG)) return; // the page placed one itself (or a second tag)
    var widget = document.createElement(TAG);
    widget.setAttribute("tutor-url", defaultTutorUrl());
    if (script && script.dataset.stage) widget.setAttribute("stage", script.dataset.stage);
    if (script && script.dataset.title) widget.setAttribute("heading", script.dataset.title);
    if (script && script.dataset.learnerId) widget.setAttribute("learner-id", script.dataset.learnerId);
    document.body.appendChild(widget);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
