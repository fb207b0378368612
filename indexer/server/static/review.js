// The review page: search, open a page, see its handwriting boxes, correct a reading.
// Plain JavaScript, no build step; everything it loads comes from this app.
"use strict";

const KEY_STORAGE = "indexer-api-key";
const INBOX_REFRESH_MS = 5000;
const view = { hits: [], document: null, pageNumber: 0, pageCount: 0, page: null, selected: -1 };
const $ = (id) => document.getElementById(id);

function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ""; }

// Every call sends the key (when one is set); a 401 asks for it.
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey()) headers["X-API-Key"] = apiKey();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    $("key-form").hidden = false;
    throw new Error("this server needs its API key: enter it above");
  }
  if (!response.ok) {
    let reason = response.statusText;
    try { reason = (await response.json()).reason || reason; } catch (ignored) { /* not JSON */ }
    throw new Error(`${response.status}: ${reason}`);
  }
  return response;
}

function say(text) { $("message").textContent = text; }

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

// Search -------------------------------------------------------------------------------------

async function search(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams({ q: $("q").value, size: "20" });
  if ($("handwriting-only").checked) params.set("handwriting_only", "true");
  if ($("kind").value) params.set("kind", $("kind").value);
  for (const item of $("entity").value.split(",").map((part) => part.trim()).filter(Boolean)) {
    params.append("entity", item);
  }
  for (const item of $("field").value.split(",").map((part) => part.trim()).filter(Boolean)) {
    params.append("field", item);
  }
  try {
    const body = await (await api(`/api/search?${params}`)).json();
    view.hits = body.hits;
    $("total").textContent = `(${body.total})`;
    say(body.total ? "" : "no page matches");
    showHits();
  } catch (error) { say(error.message); }
}

// Marks the handwritten readings inside a snippet, as `indexer search` does in the terminal. A reading
// split by a match's <em> is marked piece by piece, within each text node.
function markHandwriting(root, readings) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    for (const reading of readings) {
      const at = node.data.indexOf(reading);
      if (at < 0) continue;
      const marked = node.splitText(at);
      marked.splitText(reading.length);
      const wrapper = document.createElement("span");
      wrapper.className = "hw";
      marked.replaceWith(wrapper);
      wrapper.append(marked);
      break;
    }
  }
}

function plainText(html) {
  const holder = document.createElement("div");
  holder.innerHTML = html;
  return holder.textContent;
}

function showHits() {
  const list = $("results");
  list.replaceChildren();
  view.hits.forEach((hit, index) => {
    const item = document.createElement("li");
    item.dataset.index = index;
    item.append(text("strong", `${hit.filename} p. ${hit.page}`));
    const readings = hit.handwriting.map((span) => plainText(span.text)).filter((text) => text.length > 2);
    // The API escapes the text and marks matches with <em>: safe to insert as HTML.
    for (const fragment of hit.highlight.content || []) {
      const snippet = document.createElement("div");
      snippet.className = "snippet content";
      snippet.innerHTML = `… ${fragment} …`;
      markHandwriting(snippet, readings);
      item.append(snippet);
    }
    for (const span of hit.handwriting.filter((span) => span.text)) {
      const line = document.createElement("div");
      line.className = "snippet";
      line.append(text("span", `✍ ${span.kind}: `, "kind"));
      const reading = document.createElement("span");
      reading.className = "hw";
      reading.innerHTML = span.text;
      line.append(reading);
      item.append(line);
    }
    for (const field of hit.fields || []) {
      item.append(text("div", `▣ ${field.type}: ${field.value_text} (${field.label})`, "snippet"));
    }
    item.addEventListener("click", () => openPage(hit.document_id, hit.page));
    list.append(item);
  });
}

// Page view ----------------------------------------------------------------------------------

async function openPage(documentId, number) {
  try {
    const page = await (await api(`/api/documents/${documentId}/pages/${number}`)).json();
    const image = await (await api(page.image_url)).blob();
    view.document = documentId;
    view.pageNumber = number;
    view.pageCount = page.document.pages;
    view.page = page;
    $("page-panel").hidden = false;
    $("page-title").textContent = `${page.document.filename}, page ${number} of ${page.document.pages}`;
    const img = $("page-image");
    if (img.src) URL.revokeObjectURL(img.src);
    img.onload = () => { drawBoxes(); select(view.selected >= 0 ? view.selected : 0); };
    img.src = URL.createObjectURL(image);
  } catch (error) { say(error.message); }
}

function drawBoxes() {
  const img = $("page-image");
  const scale = img.clientWidth / view.page.width;
  const boxes = $("boxes");
  const spans = $("spans");
  boxes.replaceChildren();
  spans.replaceChildren();
  view.page.spans.forEach((span, index) => {
    const box = document.createElement("div");
    const corrected = span.engine === "correction" ? " corrected" : "";
    box.className = `box ${span.kind}${corrected}`;
    box.dataset.index = index;
    box.dataset.spanId = span.id;
    box.title = span.text || span.kind;
    Object.assign(box.style, {
      left: `${span.bbox.x0 * scale}px`,
      top: `${span.bbox.y0 * scale}px`,
      width: `${(span.bbox.x1 - span.bbox.x0) * scale}px`,
      height: `${(span.bbox.y1 - span.bbox.y0) * scale}px`,
    });
    box.addEventListener("click", () => { select(index); $("edit-text").focus(); });
    boxes.append(box);
    const item = document.createElement("li");
    item.dataset.index = index;
    // The printed label beside the box and the field type it names, when the pipeline found one.
    const field = span.field_type ? ` ${span.field_type}${span.label ? ` "${span.label.text}"` : ""}` : "";
    item.append(text("span", `${span.kind}${field}${corrected ? ", corrected" : ""} `, "kind"));
    item.append(text("span", span.text || "(no reading)", "reading"));
    item.addEventListener("click", () => select(index));
    spans.append(item);
  });
}

function select(index) {
  const spans = view.page ? view.page.spans : [];
  if (!spans.length) { $("edit-form").hidden = true; view.selected = -1; return; }
  view.selected = Math.max(0, Math.min(index, spans.length - 1));
  for (const node of document.querySelectorAll(".box, #spans li")) {
    node.classList.toggle("selected", Number(node.dataset.index) === view.selected);
  }
  const span = spans[view.selected];
  $("edit-form").hidden = false;
  $("edit-text").value = span.text;
  $("edit-kind").value = span.kind;
  $("save-status").textContent = "";
}

async function save(event) {
  event.preventDefault();
  const span = view.page.spans[view.selected];
  const body = { text: $("edit-text").value, kind: $("edit-kind").value, who: "review page" };
  $("save-status").textContent = "saving…";
  try {
    const path = `/api/documents/${view.document}/pages/${view.pageNumber}/handwriting/${encodeURIComponent(span.id)}`;
    view.page = await (await api(path, {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })).json();
    drawBoxes();
    select(view.selected);
    $("save-status").textContent = "saved";
  } catch (error) { $("save-status").textContent = error.message; }
}

async function downloadPdf() {
  try {
    const blob = await (await api(`/api/documents/${view.document}/pdf`)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${view.document.slice(0, 12)}-searchable.pdf`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) { say(error.message); }
}

function turnPage(step) {
  const number = view.pageNumber + step;
  if (view.document && number >= 1 && number <= view.pageCount) {
    view.selected = 0;
    openPage(view.document, number);
  }
}

function onKey(event) {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (!view.page) return;
  const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
  if (event.key in moves) { select(view.selected + moves[event.key]); event.preventDefault(); }
  else if (event.key === "n" || event.key === "ArrowRight") turnPage(1);
  else if (event.key === "p" || event.key === "ArrowLeft") turnPage(-1);
  else if (event.key === "Enter" && view.selected >= 0) { $("edit-text").focus(); event.preventDefault(); }
}

// Inbox --------------------------------------------------------------------------------------

async function refreshInbox() {
  try {
    const body = await (await api("/api/documents?limit=50")).json();
    const rows = body.documents.map((item) => {
      const row = document.createElement("tr");
      row.append(text("td", item.filename), text("td", item.status, `status-${item.status}`),
        text("td", item.pages == null ? "" : String(item.pages)), text("td", item.reason || ""));
      return row;
    });
    $("inbox").tBodies[0].replaceChildren(...rows);
  } catch (error) { /* the message of the last search stays; the next refresh tries again */ }
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try {
    const body = await (await api("/api/documents", { method: "POST", body: form })).json();
    say(`${file.name}: ${body.status} (id ${body.id.slice(0, 12)})`);
    refreshInbox();
  } catch (error) { say(error.message); }
}

$("search-form").addEventListener("submit", search);
$("edit-form").addEventListener("submit", save);
$("upload-form").addEventListener("submit", upload);
$("pdf-button").addEventListener("click", downloadPdf);
$("previous-page").addEventListener("click", () => turnPage(-1));
$("next-page").addEventListener("click", () => turnPage(1));
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, $("api-key").value);
  $("key-form").hidden = true;
  search();
  refreshInbox();
});
window.addEventListener("resize", () => { if (view.page) { drawBoxes(); select(view.selected); } });
document.addEventListener("keydown", onKey);
refreshInbox();
setInterval(refreshInbox, INBOX_REFRESH_MS);
