// consentclip review page. Plain JavaScript, no build step, nothing loaded from elsewhere.
// Every request carries the session token: in the URL for reads, in a header for changes.
"use strict";

const TOKEN = document.querySelector('meta[name="review-token"]').content;
const $ = (id) => document.getElementById(id);

let state = null; // /api/state
let regions = []; // per frame: [kind, track, x, y, w, h, score, source, off]
let decisions = { hide: [], keep: [], tracks_off: [] };
let history = []; // earlier decisions, for Undo
let colours = {};
let polling = null;
let drawing = null; // {canvas, x0, y0, x1, y1} in picture pixels

const isPhoto = () => state && state.session.media_kind === "photo";
const fps = () => (state && state.fps) || 25;
const frameCount = () => Math.max(1, (state && state.frames) || 1);

function url(path, extra) {
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}t=${encodeURIComponent(TOKEN)}${extra ? "&" + extra : ""}`;
}

async function getJSON(path) {
  const res = await fetch(url(path), { cache: "no-store" });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

async function post(path, body) {
  const res = await fetch(url(path), {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Review-Token": TOKEN },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `${path}: ${res.status}`);
  return data;
}

// --- loading -------------------------------------------------------------------------------

async function load() {
  state = await getJSON("/api/state");
  colours = Object.fromEntries(state.colours.map((c) => [c.kind, c.colour]));
  decisions = state.decisions;
  regions = state.rendered ? (await getJSON("/api/regions")).regions : [];
  $("title").textContent =
    `${state.session.consent_id}, clip ${state.session.clip_number}, for ${state.session.purpose}`;
  $("approve-purpose").textContent = state.session.purpose;
  renderLegend();
  loadMedia();
  renderLists();
  updateStatus();
  if (state.job.state === "running") watchRender();
}

function loadMedia() {
  const version = state.staged_sha256 || "none";
  const photo = isPhoto();
  for (const which of ["result", "original"]) {
    const video = $(which);
    const img = $(`${which}-img`);
    video.hidden = photo;
    img.hidden = !photo;
    if (!state.rendered) continue;
    const src = url(`/media/${which === "result" ? "staged" : "original"}`, `v=${version}`);
    if (photo) {
      img.onload = sizeCanvases;
      img.src = src;
    } else if (video.dataset.version !== version) {
      const at = video.currentTime || 0;
      video.dataset.version = version;
      video.src = src;
      video.addEventListener("loadedmetadata", () => { video.currentTime = at; sizeCanvases(); }, { once: true });
    }
  }
  $("controls").hidden = photo;
  $("strip").hidden = photo;
  $("scrub").max = String(frameCount() - 1);
}

// --- time ----------------------------------------------------------------------------------

function currentFrame() {
  if (isPhoto()) return 0;
  const t = $("result").currentTime || 0;
  return Math.min(frameCount() - 1, Math.max(0, Math.floor(t * fps() + 1e-3)));
}

function seekFrame(frame) {
  const f = Math.min(frameCount() - 1, Math.max(0, frame));
  const t = (f + 0.5) / fps(); // the middle of the frame: no rounding lands on its neighbour
  $("result").pause();
  $("result").currentTime = t;
  $("original").currentTime = t;
  $("scrub").value = String(f);
  redraw();
}

function onTime() {
  const f = currentFrame();
  $("scrub").value = String(f);
  const original = $("original");
  if (!$("view-original").hidden && Math.abs(original.currentTime - $("result").currentTime) > 0.1) {
    original.currentTime = $("result").currentTime;
  }
  redraw();
}

function frameLoop() {
  const video = $("result");
  if ("requestVideoFrameCallback" in video) {
    const tick = () => { onTime(); video.requestVideoFrameCallback(tick); };
    video.requestVideoFrameCallback(tick);
  }
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("seeked", onTime);
  video.addEventListener("play", () => {
    $("play").textContent = "Pause";
    if (!$("view-original").hidden) $("original").play();
  });
  video.addEventListener("pause", () => { $("play").textContent = "Play"; $("original").pause(); });
}

// --- drawing -------------------------------------------------------------------------------

function sizeCanvases() {
  for (const which of ["result", "original"]) {
    const canvas = $(`${which}-canvas`);
    const box = canvas.parentElement.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(box.width));
    canvas.height = Math.max(1, Math.round(box.height));
  }
  redraw();
}

function pictureSize() {
  return { w: state.width || $("result").videoWidth || 1, h: state.height || $("result").videoHeight || 1 };
}

function rect(ctx, scale, b, colour, { dashed = false, label = "", width = 2 } = {}) {
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.setLineDash(dashed ? [6, 4] : []);
  ctx.strokeRect(b.x * scale, b.y * scale, b.w * scale, b.h * scale);
  if (label) {
    ctx.fillStyle = colour;
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(label, b.x * scale + 2, Math.max(12, b.y * scale - 3));
  }
  ctx.restore();
}

function activeHidden(frame) {
  const t = frame / fps();
  return decisions.hide.filter((h) => (h.start == null || t + 1e-6 >= h.start) && (h.end == null || t <= h.end + 1e-6));
}

function redraw() {
  if (!state) return;
  const frame = currentFrame();
  const { w } = pictureSize();
  const rows = regions[frame] || [];
  $("frame-label").textContent = isPhoto()
    ? "photo"
    : `frame ${frame} / ${frameCount() - 1} · ${(frame / fps()).toFixed(2)} s`;
  for (const which of ["result", "original"]) {
    const canvas = $(`${which}-canvas`);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const scale = canvas.width / w;
    for (const k of decisions.keep) rect(ctx, scale, k, colours.keep, { label: "keep" });
    if (which === "original") {
      for (const r of rows) {
        const [kind, track, x, y, bw, bh, score, source, off] = r;
        const colour = off ? colours.off : colours[kind] || "#fff";
        const label = `${kind}${track != null ? " #" + track : ""}${off ? " (off)" : ""}`;
        rect(ctx, scale, { x, y, w: bw, h: bh }, colour, { dashed: off || source === "interp" || source === "track", label });
      }
    } else if (state.current) {
      // What the result hides by hand in this frame, where the tracker followed it.
      for (const r of rows) {
        if (r[0] === "manual") rect(ctx, scale, { x: r[2], y: r[3], w: r[4], h: r[5] }, colours.manual);
      }
    } else {
      // Boxes drawn since the last render, where they apply now: not in the result yet.
      for (const h of activeHidden(frame)) rect(ctx, scale, h.box, colours.manual, { dashed: true });
    }
    if (drawing && drawing.canvas === canvas) {
      const b = normalised(drawing);
      rect(ctx, scale, b, toolColour(), { dashed: true });
    }
  }
  drawStrip(frame);
}

function drawStrip(frame) {
  const canvas = $("strip");
  if (!state || isPhoto()) return;
  const tracks = state.tracks;
  const lane = 10;
  canvas.width = Math.max(1, Math.round(canvas.getBoundingClientRect().width));
  canvas.height = 8 + Math.max(1, tracks.length) * lane;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const n = frameCount();
  const x = (f) => (f / n) * canvas.width;
  const lanes = Object.fromEntries(tracks.map((t, i) => [t.key, i]));
  regions.forEach((rows, f) => {
    for (const r of rows) {
      const key = `${r[0]}:${r[1]}`;
      if (!(key in lanes)) continue;
      ctx.fillStyle = r[8] ? colours.off : colours[r[0]] || "#888";
      ctx.globalAlpha = r[7] === "interp" || r[7] === "track" ? 0.45 : 1;
      ctx.fillRect(x(f), 8 + lanes[key] * lane + 1, Math.max(1, x(1)), lane - 2);
    }
  });
  ctx.globalAlpha = 1;
  ctx.fillStyle = "#b42318";
  for (const r of state.risk) ctx.fillRect(x(r.frame), 0, 2, 6);
  ctx.fillStyle = "#1f2933";
  ctx.fillRect(x(frame), 0, 2, canvas.height);
}

function toolColour() {
  return document.querySelector('input[name="tool"]:checked').value === "keep" ? colours.keep : colours.manual;
}

function normalised(d) {
  return {
    x: Math.round(Math.min(d.x0, d.x1)),
    y: Math.round(Math.min(d.y0, d.y1)),
    w: Math.round(Math.abs(d.x1 - d.x0)),
    h: Math.round(Math.abs(d.y1 - d.y0)),
  };
}

function picturePoint(canvas, event) {
  const box = canvas.getBoundingClientRect();
  const { w, h } = pictureSize();
  const x = ((event.clientX - box.left) / box.width) * w;
  const y = ((event.clientY - box.top) / box.height) * h;
  return [Math.min(w, Math.max(0, x)), Math.min(h, Math.max(0, y))];
}

function enableDrawing(canvas) {
  canvas.addEventListener("pointerdown", (e) => {
    if (!state || !state.rendered) return;
    $("result").pause();
    const [x, y] = picturePoint(canvas, e);
    drawing = { canvas, x0: x, y0: y, x1: x, y1: y };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing || drawing.canvas !== canvas) return;
    [drawing.x1, drawing.y1] = picturePoint(canvas, e);
    redraw();
  });
  canvas.addEventListener("pointerup", (e) => {
    if (!drawing || drawing.canvas !== canvas) return;
    [drawing.x1, drawing.y1] = picturePoint(canvas, e);
    const box = normalised(drawing);
    drawing = null;
    if (box.w < 4 || box.h < 4) { redraw(); return; }
    const next = clone(decisions);
    if (document.querySelector('input[name="tool"]:checked').value === "keep") {
      next.keep.push(box);
    } else {
      // Drawn on this frame, so it is followed from this frame on (like --region x,y,w,h@START-).
      const start = isPhoto() ? null : Math.round((currentFrame() / fps()) * 1000) / 1000;
      next.hide.push({ box, start, end: null });
    }
    change(next);
  });
}

// --- decisions -----------------------------------------------------------------------------

const clone = (d) => JSON.parse(JSON.stringify(d));

async function change(next) {
  history.push(clone(decisions));
  decisions = next;
  renderLists();
  redraw();
  await save();
}

async function undo() {
  if (!history.length) return;
  decisions = history.pop();
  renderLists();
  redraw();
  await save();
}

async function save() {
  try {
    await post("/api/decisions", decisions);
    state = await getJSON("/api/state");
    updateStatus();
  } catch (err) {
    setStatus(`Not saved: ${err.message}`, "bad");
  }
}

function trackOffEntry(track) {
  const rows = regions[track.first] || [];
  const row = rows.find((r) => `${r[0]}:${r[1]}` === track.key);
  const entry = { track: track.key, frame: track.first };
  if (row) entry.box = { x: row[2], y: row[3], w: row[4], h: row[5] };
  return entry;
}

function setTrack(track, redact) {
  const next = clone(decisions);
  next.tracks_off = next.tracks_off.filter((t) => t.track !== track.key);
  if (!redact) next.tracks_off.push(trackOffEntry(track));
  change(next);
}

// --- lists ---------------------------------------------------------------------------------

function renderLegend() {
  $("legend").replaceChildren(
    ...state.colours.map((c) => {
      const span = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.borderColor = c.colour;
      span.append(swatch, c.label);
      return span;
    }),
  );
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

function renderLists() {
  if (!state) return;
  const off = new Set(decisions.tracks_off.map((t) => t.track));
  const detected = state.tracks.filter((t) => t.kind !== "manual");
  $("tracks").replaceChildren(
    ...(detected.length
      ? detected.map((t) => {
          const isOff = off.has(t.key);
          const box = el("input", { type: "checkbox", checked: !isOff, title: "redact this track" });
          box.dataset.track = t.key;
          box.addEventListener("change", () => setTrack(t, box.checked));
          const thumb = el("img", { alt: t.key, loading: "lazy", src: url(`/thumb/${t.kind}-${t.track_id}`, `v=${state.staged_sha256}`) });
          thumb.addEventListener("click", () => seekFrame(t.first));
          const time = (f) => `${(f / fps()).toFixed(2)} s`;
          const meta = el("div", { className: "meta" },
            el("b", { textContent: `${t.kind} #${t.track_id}${isOff ? " — switched off" : ""}` }),
            isPhoto() ? "" : `${time(t.first)}–${time(t.last)}, ${t.frames} frames (${t.filled} filled)`,
            el("br"),
            `weakest detection ${t.min_score.toFixed(2)}`,
          );
          const li = el("li", { className: isOff ? "off" : "" }, thumb, meta, el("label", {}, box, " redact"));
          li.style.borderLeftColor = isOff ? colours.off : colours[t.kind];
          return li;
        })
      : [el("li", { className: "empty", textContent: state.rendered ? "Nothing detected." : "Not rendered yet." })]),
  );
  const names = { first: "enters", last: "leaves", gap: "gap filled", weak: "weak hit" };
  $("risk").replaceChildren(
    ...(state.risk.length && !isPhoto()
      ? state.risk.map((r) => {
          const b = el("button", { type: "button", textContent: `${r.frame}: ${r.track.replace(":", " #")} ${names[r.why]}` });
          b.dataset.frame = r.frame;
          b.addEventListener("click", () => seekFrame(r.frame));
          return el("li", {}, b);
        })
      : [el("li", { className: "empty", textContent: isPhoto() ? "A photo is one frame." : "None." })]),
  );
  $("hidden").replaceChildren(
    ...(decisions.hide.length
      ? decisions.hide.map((h, i) => {
          const field = (name) => {
            const input = el("input", { type: "number", min: 0, step: 0.04, value: h[name] ?? "", placeholder: name === "start" ? "start" : "end" });
            input.addEventListener("change", () => {
              const next = clone(decisions);
              next.hide[i][name] = input.value === "" ? null : Number(input.value);
              change(next);
            });
            return input;
          };
          const remove = el("button", { type: "button", textContent: "Remove" });
          remove.addEventListener("click", () => { const next = clone(decisions); next.hide.splice(i, 1); change(next); });
          const where = `${h.box.w}×${h.box.h} at ${h.box.x},${h.box.y}`;
          return isPhoto()
            ? el("li", {}, where, remove)
            : el("li", {}, `${where}, from`, field("start"), "s to", field("end"), "s", remove);
        })
      : [el("li", { className: "empty", textContent: "Draw a box on the picture to hide something." })]),
  );
  $("kept").replaceChildren(
    ...(decisions.keep.length
      ? decisions.keep.map((k, i) => {
          const remove = el("button", { type: "button", textContent: "Remove" });
          remove.addEventListener("click", () => { const next = clone(decisions); next.keep.splice(i, 1); change(next); });
          return el("li", {}, `${k.w}×${k.h} at ${k.x},${k.y}`, remove);
        })
      : [el("li", { className: "empty", textContent: "Choose “keep box” and draw around the lesion." })]),
  );
  $("undo").disabled = history.length === 0;
}

// --- status, render, approve ---------------------------------------------------------------

function setStatus(text, kind) {
  $("status").textContent = text;
  $("status").className = kind || "";
}

function updateStatus() {
  const warnings = state.warnings || [];
  $("warnings").hidden = warnings.length === 0;
  $("warnings").textContent = warnings.join(" ");
  const running = state.job.state === "running";
  const ready = state.rendered && state.current && !running;
  $("approve").disabled = !ready;
  $("render").disabled = running;
  $("dirty").hidden = !state.rendered || state.current || running;
  $("render").classList.toggle("attention", state.rendered && !state.current);
  const a = state.approval;
  if (state.job.state === "failed") setStatus(`Render failed: ${state.job.error}`, "bad");
  else if (running) setStatus("Rendering…");
  else if (!state.rendered) setStatus("Not rendered yet.");
  else if (a && a.holds) setStatus(`Approved by ${a.reviewer} (${a.approved_at}); export publishes this file.`, "ok");
  else if (!state.current) setStatus("Your changes are saved but not rendered: press Re-render.");
  else setStatus("Check every track and the frames at risk, then approve.");
  if (state.job.reenabled && state.job.reenabled.length) {
    setStatus(`Switched back on because they changed after re-rendering: ${state.job.reenabled.join(", ")}. Check them.`, "bad");
  }
}

function showProgress(job) {
  $("progress").hidden = job.state !== "running";
  const pct = job.total ? Math.round((100 * job.done) / job.total) : 0;
  $("progress-bar").value = pct;
  const phase = { anonymising: "Anonymising", original: "Preparing the original", thumbnails: "Thumbnails", starting: "Starting" }[job.phase] || job.phase;
  $("progress-text").textContent = `${phase}: ${job.done}${job.total ? " / " + job.total : ""} frames (${pct}%)`;
}

function watchRender() {
  if (polling) return;
  $("render").disabled = true;
  $("approve").disabled = true;
  polling = setInterval(async () => {
    const job = await getJSON("/api/progress");
    showProgress(job);
    if (job.state !== "running") {
      clearInterval(polling);
      polling = null;
      await load();
    }
  }, 250);
}

async function rerender() {
  try {
    await post("/api/render");
    state.job.state = "running";
    showProgress({ state: "running", phase: "starting", done: 0, total: null });
    updateStatus();
    watchRender();
  } catch (err) {
    setStatus(err.message, "bad");
  }
}

function openApprove() {
  $("approve-error").textContent = "";
  $("approve-dialog").showModal();
  $("reviewer").focus();
}

async function confirmApprove(event) {
  event.preventDefault();
  const reviewer = $("reviewer").value.trim();
  if (!reviewer) { $("approve-error").textContent = "Your name is required."; return; }
  $("confirm-approve").disabled = true;
  try {
    await post("/api/approve", { reviewer });
    $("approve-dialog").close();
    await load();
  } catch (err) {
    $("approve-error").textContent = err.message;
  } finally {
    $("confirm-approve").disabled = false;
  }
}

async function finish() {
  await post("/api/done").catch(() => {});
  setStatus("Review closed. You can close this tab.", "ok");
  for (const b of document.querySelectorAll("button")) b.disabled = true;
}

// --- wiring --------------------------------------------------------------------------------

function wire() {
  $("play").addEventListener("click", () => ($("result").paused ? $("result").play() : $("result").pause()));
  $("scrub").addEventListener("input", () => seekFrame(Number($("scrub").value)));
  $("show-original").addEventListener("change", () => {
    $("view-original").hidden = !$("show-original").checked;
    $("original").currentTime = $("result").currentTime;
    sizeCanvases();
  });
  $("strip").addEventListener("click", (e) => {
    const box = $("strip").getBoundingClientRect();
    seekFrame(Math.floor(((e.clientX - box.left) / box.width) * frameCount()));
  });
  $("render").addEventListener("click", rerender);
  $("approve").addEventListener("click", openApprove);
  $("cancel-approve").addEventListener("click", () => $("approve-dialog").close());
  $("approve-form").addEventListener("submit", confirmApprove);
  $("undo").addEventListener("click", undo);
  $("done").addEventListener("click", finish);
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") return;
    if (e.key === "z" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); undo(); }
    if (e.key === " ") { e.preventDefault(); $("play").click(); }
    if (e.key === "ArrowRight") seekFrame(currentFrame() + 1);
    if (e.key === "ArrowLeft") seekFrame(currentFrame() - 1);
  });
  window.addEventListener("resize", sizeCanvases);
  enableDrawing($("result-canvas"));
  enableDrawing($("original-canvas"));
  frameLoop();
}

wire();
load().catch((err) => setStatus(`Cannot load the review: ${err.message}`, "bad"));
