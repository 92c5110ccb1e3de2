// The page is a client of the JSON API: GET /api/artifacts, POST /api/preview, POST /api/jobs,
// GET /api/jobs/{id} and its /events (server-sent events), its files, DELETE to cancel.
"use strict";
const $ = (id) => document.getElementById(id);
const SIDE = 256;
const FINISHED = ["done", "failed", "cancelled"];
const RECENT_KEY = "gs-serve.recent-jobs";
const RECENT_MAX = 8;
const COLOURS = { no_surgery: "#52606d", surgery: "#1d4ed8" };
const state = {
  file: null, example: null, photoToken: 0, photoLoading: null, limits: null, artifacts: [],
  job: null, plan: [], running: false, stream: null, lastImage: 0,
  undo: [], painted: false, previewTimer: null, previewAbort: null, previewError: false,
  shown: [],
};

// ------------------------------------------------------------------ helpers
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  state.previewError = false;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error(body.error || `the server answered ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

const task = () => document.querySelector("input[name=task]:checked").value;
const inpaintMode = () => document.querySelector("input[name=inpaint-mode]:checked").value;
const brushing = () => task() === "inpaint" && inpaintMode() === "brush";
const fmt = (x) => Number(x).toExponential(2);
const pct = (v) => `${Math.round(Number(v) * 100)} %`;

function artifact() { return state.artifacts.find((a) => a.id === $("artifact").value); }

function setJobInUrl(id) {
  const url = new URL(location.href);
  if (id) url.searchParams.set("job", id); else url.searchParams.delete("job");
  history.replaceState(null, "", url);
}

// ------------------------------------------------------------------ photo
function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("not an image"));
    img.src = url;
  });
}

function drawPhoto(img) {
  // Centre square crop, as gs.io.resize_image does on the server.
  const side = Math.min(img.naturalWidth, img.naturalHeight);
  const left = Math.floor((img.naturalWidth - side) / 2);
  const top = Math.floor((img.naturalHeight - side) / 2);
  const ctx = $("photo").getContext("2d");
  ctx.clearRect(0, 0, SIDE, SIDE);
  ctx.drawImage(img, left, top, side, side, 0, 0, SIDE, SIDE);
}

function markExample(name) {
  for (const button of document.querySelectorAll("#examples button")) {
    button.setAttribute("aria-pressed", String(button.dataset.example === name));
  }
}

function clearPhoto() {
  state.file = null; state.example = null;
  $("photo").getContext("2d").clearRect(0, 0, SIDE, SIDE);
  markExample(null);
  $("photo-name").textContent = "no photo yet";
  clearMask();
  showPreview(null);
}

function clearResults() {
  // A new photo makes the previous job's pictures stale; a running job keeps its progress.
  $("results").hidden = true;
  $("panels").replaceChildren();
  if (!state.running) {
    $("live").hidden = true;
    state.job = null;
    setJobInUrl(null);
  }
}

function choosePhoto(choice) {
  // run() waits for the photo being read, so a quick click runs on the new photo
  state.photoLoading = readPhoto(choice);
  return state.photoLoading;
}

async function readPhoto({ file = null, example = null }) {
  showError("");
  clearResults();
  const token = ++state.photoToken;
  const url = file ? URL.createObjectURL(file) : `/api/examples/${encodeURIComponent(example)}`;
  let img;
  try {
    img = await loadImage(url);
  } catch {
    if (token !== state.photoToken) return;
    clearPhoto();
    showError(file
      ? `${file.name} is not an image the browser can read (png, jpg, webp…); choose another photo.`
      : `The example ${example} could not be loaded.`);
    return;
  } finally {
    if (file) URL.revokeObjectURL(url);
  }
  if (token !== state.photoToken) return;
  state.file = file; state.example = example;
  markExample(example);
  $("photo-name").textContent = file
    ? `${file.name} (${(file.size / 1024).toFixed(0)} kB)` : `example: ${example}`;
  clearMask();  // a mask painted on another photo does not fit this one
  drawPhoto(img);
  schedulePreview(0);
}

function setupPhotoInputs() {
  $("drop").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    ev.target.value = "";  // choosing the same file again is a new choice
    if (file) choosePhoto({ file });
  });
  // Drop anywhere on the page (the browser would otherwise open the file), paste anywhere.
  const zone = $("drop");
  document.addEventListener("dragover", (ev) => {
    if (![...ev.dataTransfer.types].includes("Files")) return;
    ev.preventDefault(); zone.classList.add("over");
  });
  document.addEventListener("dragleave", (ev) => { if (!ev.relatedTarget) zone.classList.remove("over"); });
  document.addEventListener("drop", (ev) => {
    zone.classList.remove("over");
    const file = ev.dataTransfer && ev.dataTransfer.files[0];
    if (!file) return;
    ev.preventDefault();
    choosePhoto({ file });
  });
  document.addEventListener("paste", (ev) => {
    const file = [...(ev.clipboardData ? ev.clipboardData.files : [])][0];
    if (!file) return;
    ev.preventDefault();
    choosePhoto({ file });
  });
}

// ------------------------------------------------------------------ brush
function paintContext() { return $("paint").getContext("2d"); }

function hasPaint() {
  const data = paintContext().getImageData(0, 0, SIDE, SIDE).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] >= 64) return true;
  return false;
}

function afterStroke() {
  state.painted = hasPaint();
  $("undo").disabled = state.undo.length === 0;
  schedulePreview();
}

function clearMask() {
  paintContext().clearRect(0, 0, SIDE, SIDE);
  state.undo = [];
  state.painted = false;
  $("undo").disabled = true;
}

function undoStroke() {
  if (!state.undo.length) return;
  paintContext().putImageData(state.undo.pop(), 0, 0);
  afterStroke();
}

function setupBrush() {
  const canvas = $("paint");
  const ctx = paintContext();
  let down = false, last = null;
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * SIDE / r.width, (ev.clientY - r.top) * SIDE / r.height];
  };
  const stroke = (p) => {
    const erase = document.querySelector("input[name=tool]:checked").value === "erase";
    ctx.globalCompositeOperation = erase ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "rgba(220, 38, 38, 0.85)";
    ctx.lineWidth = Number($("brush").value);
    ctx.lineCap = "round";
    ctx.beginPath();
    if (last) { ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke(); }
    else { ctx.arc(p[0], p[1], ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill(); }
    last = p;
  };
  canvas.addEventListener("pointerdown", (ev) => {
    state.undo.push(ctx.getImageData(0, 0, SIDE, SIDE));
    if (state.undo.length > 50) state.undo.shift();
    down = true; last = null; canvas.setPointerCapture(ev.pointerId); stroke(at(ev));
  });
  canvas.addEventListener("pointermove", (ev) => { if (down) stroke(at(ev)); });
  const up = () => { if (down) { down = false; last = null; afterStroke(); } };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  $("undo").addEventListener("click", undoStroke);
  $("clear-mask").addEventListener("click", () => {
    if (hasPaint()) state.undo.push(ctx.getImageData(0, 0, SIDE, SIDE));
    ctx.clearRect(0, 0, SIDE, SIDE);
    afterStroke();
  });
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target.matches && ev.target.matches("input[type=number], input[type=text], textarea");
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "z" && brushing() && !typing) {
      ev.preventDefault(); undoStroke();
    }
  });
}

function maskBlob() {
  // White = kept, black = painted (missing): the convention of gs-invert --mask.
  const paint = paintContext().getImageData(0, 0, SIDE, SIDE).data;
  const out = document.createElement("canvas");
  out.width = SIDE; out.height = SIDE;
  const ctx = out.getContext("2d");
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < paint.length; i += 4) {
    const kept = paint[i + 3] < 64 ? 255 : 0;
    image.data[i] = image.data[i + 1] = image.data[i + 2] = kept;
    image.data[i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

// ------------------------------------------------------------------ the form
function showOptions() {
  for (const box of document.querySelectorAll(".options")) box.hidden = box.dataset.task !== task();
  for (const box of document.querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== inpaintMode();
  $("paint").style.pointerEvents = brushing() ? "auto" : "none";
  $("paint").style.visibility = brushing() ? "visible" : "hidden";
}

function fitLimits() {
  // The sliders start where the server's minimum number of measurements does.
  const a = artifact();
  if (!a || !state.limits) return;
  const [c, h, w] = a.image_shape, least = state.limits.min_measurements;
  const floors = { ratio: least / (c * h * w), keep: Math.ceil(least / c) / (h * w) };
  for (const [id, floor] of Object.entries(floors)) {
    const slider = $(id);
    slider.min = String(Math.max(0.01, Math.ceil(floor * 100) / 100));
    if (Number(slider.value) < Number(slider.min)) slider.value = slider.min;
    $(`${id}-out`).textContent = pct(slider.value);
  }
}

async function requestForm({ preview = false } = {}) {
  const form = new FormData();
  form.append("artifact", $("artifact").value);
  form.append("task", task());
  form.append("seed", $("seed").value || "0");
  form.append("compare", $("compare").checked ? "true" : "false");
  form.append("classical", $("classical").checked ? "true" : "false");
  for (const name of ["steps", "restarts"]) if ($(name).value) form.append(name, $(name).value);
  form.append("quality", $("quality").value);
  if (task() === "cs") form.append("ratio", $("ratio").value);
  if (task() === "sr") form.append("scale", $("scale").value);
  if (task() === "denoise") form.append("noise_std", $("noise").value);
  if (task() === "inpaint") {
    if (inpaintMode() === "random") form.append("keep", $("keep").value);
    else if (state.painted || preview) form.append("mask", await maskBlob(), "mask.png");
  }
  if (state.file) form.append("image", state.file, state.file.name);
  else form.append("example", state.example);
  return form;
}

// ------------------------------------------------------------------ what the model sees
function showPreview(shown) {
  for (const key of ["truth", "observation"]) {
    const img = $(`preview-${key}`);
    img.hidden = !shown;
    if (shown) img.src = shown.images[key]; else img.removeAttribute("src");
  }
  if (!shown) {
    $("preview-truth-caption").textContent = "";
    $("preview-observation-caption").textContent = "";
    return;
  }
  const [, h, w] = shown.image_shape;
  $("preview-truth-caption").textContent = `the photo at ${w}×${h}`;
  $("preview-observation-caption").textContent = `observation: ${shown.observation}`;
  $("preview-observation").alt = `the observation: ${shown.observation}`;
}

function schedulePreview(delay = 250) {
  clearTimeout(state.previewTimer);
  state.previewTimer = setTimeout(updatePreview, delay);
}

async function updatePreview() {
  if (!state.file && !state.example) { showPreview(null); return; }
  if (state.previewAbort) state.previewAbort.abort();
  const abort = new AbortController();
  state.previewAbort = abort;
  try {
    const shown = await api("/api/preview", { method: "POST", body: await requestForm({ preview: true }),
                                              signal: abort.signal });
    if (abort.signal.aborted) return;
    showPreview(shown);
    if (state.previewError) showError("");
  } catch (err) {
    if (err.name === "AbortError") return;
    showPreview(null);
    showError(err.message);
    state.previewError = true;
  }
}

// ------------------------------------------------------------------ running
async function run() {
  await state.photoLoading;
  showError("");
  if (!state.file && !state.example) { showError("Choose a photo first: upload one or pick an example."); return; }
  const limit = state.limits && state.limits.max_upload_bytes;
  if (state.file && limit && state.file.size > limit) {
    showError(`The photo is ${(state.file.size / 1048576).toFixed(1)} MB; this server accepts at most ${(limit / 1048576).toFixed(1)} MB.`);
    return;
  }
  if (brushing() && !state.painted) { showError("Paint the missing region on the photo first, or choose random pixels."); return; }
  try {
    const job = await api("/api/jobs", { method: "POST", body: await requestForm() });
    setJobInUrl(job.id);
    remember(job);
    follow(job);
  } catch (err) { showError(err.message); }
}

function setRunning(running) {
  state.running = running;
  $("run").disabled = running;
  $("cancel").disabled = !running;
}

function closeStream() {
  if (state.stream) { state.stream.close(); state.stream = null; }
}

function follow(snap) {
  closeStream();
  state.job = snap.id;
  state.plan = snap.plan || [];
  state.lastImage = 0;
  $("live").hidden = false;
  $("results").hidden = true;
  $("current-figure").hidden = true;
  $("current").removeAttribute("src");
  setRunning(!FINISHED.includes(snap.status));
  update(snap);
  if (!state.running) return;
  const source = new EventSource(`/api/jobs/${snap.id}/events`);
  state.stream = source;
  const handle = (ev) => update(JSON.parse(ev.data));
  for (const name of ["queued", "running", ...FINISHED]) source.addEventListener(name, handle);
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED || state.stream !== source) return;
    closeStream(); poll(snap.id);
  };
}

async function poll(id) {
  // Fallback when the event stream breaks: GET the job until it ends.
  try {
    const snap = await api(`/api/jobs/${id}`);
    update(snap);
    if (!FINISHED.includes(snap.status) && state.job === id) setTimeout(() => poll(id), 500);
  } catch (err) { showError(err.message); setRunning(false); }
}

function say(text) { if ($("status").textContent !== text) $("status").textContent = text; }

function update(snap) {
  if (snap.id !== state.job) return;
  if (snap.plan) state.plan = snap.plan;
  const p = snap.progress, bar = $("bar");
  if (!FINISHED.includes(snap.status)) bar.removeAttribute("value");  // no honest fraction
  if (snap.status === "queued") {
    say(`Waiting in the queue (position ${snap.queue_position + 1}).`);
    $("detail").textContent = "";
  }
  if (snap.status === "running") {
    const index = state.plan.findIndex((c) => c.key === snap.column);
    const col = state.plan[index];
    const where = col ? `${col.label}, column ${index + 1} of ${state.plan.length}` : "starting";
    if (p && col && p.column === col.key) {
      const stages = p.stages || col.schedule.length || 1;
      say(`Running ${where} · stage ${p.stage + 1}/${stages} · cut ${p.cut}`);
      $("detail").textContent = `step ${p.step} (at most ${p.steps}; the stop rule usually ends a stage sooner)`
        + ` · measurement loss ${fmt(p.loss)}` + (p.score != null ? ` · held-out residual ${fmt(p.score)}` : "");
      const now = performance.now();
      if (now - state.lastImage > 300) {
        state.lastImage = now;
        const img = $("current");
        img.onload = () => { $("current-figure").hidden = false; };
        img.onerror = () => { $("current-figure").hidden = true; };
        img.src = `/api/jobs/${snap.id}/current.png?v=${snap.version}`;
        $("current-caption").textContent = `current image: ${col.label}`;
      }
    } else {
      say(col && col.key === "classical" ? `Running ${where}: one solve, no steps to show.` : `Running ${where}.`);
      $("detail").textContent = "";
    }
    drawChart(snap.trace);
  }
  if (snap.status === "failed" || snap.status === "cancelled") {
    say(snap.status === "failed" ? "The job failed." : `The job was ${snap.error}.`);
    $("detail").textContent = "";
    bar.value = 0;
    if (snap.status === "failed") showError(snap.error);
    setRunning(false);
    closeStream();
    renderRecent();
  }
  if (snap.status === "done") {
    drawChart(snap.trace);
    say(`Done in ${snap.seconds.toFixed(1)} s.`);
    $("detail").textContent = "";
    bar.max = 1; bar.value = 1;
    setRunning(false);
    closeStream();
    showResult(snap);
    $("results").scrollIntoView({ block: "start" });
    $("h-results").focus({ preventScroll: true });
    renderRecent();
  }
}

function drawChart(trace) {
  // One panel per generator column on a shared log scale; dashed lines start a stage.
  const canvas = $("chart"), ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const plan = state.plan.filter((c) => c.schedule.length);
  const points = trace || [];
  if (!plan.length) return;
  const logs = points.map((t) => Math.log10(Math.max(t[3], 1e-12)));
  const lo = logs.length ? Math.min(...logs) : 0, hi = logs.length ? Math.max(...logs) : 1;
  const span = Math.max(hi - lo, 1e-6), left = 46, top = 22, bottom = h - 8;
  const width = (w - left) / plan.length;
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#52606d";
  ctx.fillText(`1e${hi.toFixed(1)}`, 2, top + 10);
  ctx.fillText(`1e${lo.toFixed(1)}`, 2, bottom);
  const summary = [];
  plan.forEach((col, k) => {
    const x0 = left + k * width + 4, x1 = left + (k + 1) * width - 4;
    const colour = COLOURS[col.key] || "#1d4ed8";
    ctx.strokeStyle = "#cbd2d9"; ctx.lineWidth = 1; ctx.setLineDash([]);
    ctx.strokeRect(x0 + 0.5, top + 0.5, x1 - x0 - 1, bottom - top - 1);
    ctx.fillStyle = colour; ctx.fillText(col.label, x0 + 2, 14);
    const own = points.map((t, i) => [t, logs[i]]).filter(([t]) => t[0] === col.key);
    const x = (i) => x0 + 4 + (x1 - x0 - 8) * i / Math.max(own.length - 1, 1);
    const y = (v) => top + 4 + (bottom - top - 8) * (hi - v) / span;
    ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.beginPath();
    own.forEach(([, v], i) => { if (i) ctx.lineTo(x(i), y(v)); else ctx.moveTo(x(i), y(v)); });
    ctx.stroke();
    ctx.lineWidth = 1; ctx.fillStyle = "#52606d";
    own.forEach(([t], i) => {
      const stage = t[1];
      if (i && stage === own[i - 1][0][1]) return;
      if (i) {
        ctx.setLineDash([4, 3]); ctx.strokeStyle = "#7b8794"; ctx.beginPath();
        ctx.moveTo(x(i), top); ctx.lineTo(x(i), bottom); ctx.stroke(); ctx.setLineDash([]);
      }
      ctx.fillText(`cut ${col.schedule[stage]}`, x(i) + 3, bottom - 4);
    });
    if (own.length) {
      summary.push(`${col.label}: ${own.length} steps, from 1e${own[0][1].toFixed(1)} to 1e${own[own.length - 1][1].toFixed(1)}`);
    }
  });
  canvas.setAttribute("aria-label", `measurement loss per step (log scale). ${summary.join("; ") || "no steps yet"}`);
}

// ------------------------------------------------------------------ results
function scoreLines(column, best) {
  const lines = [];
  for (const [metric, text] of [["psnr", `PSNR ${column.psnr.toFixed(2)} dB`], ["ssim", `SSIM ${column.ssim.toFixed(3)}`]]) {
    const line = document.createElement("span");
    line.className = "score";
    line.textContent = text;
    if (best[metric] === column.key) {
      const mark = document.createElement("strong");
      mark.className = "best";
      mark.textContent = " ★ best";
      line.append(mark);
    }
    lines.push(line);
  }
  if (column.answer && column.key === "surgery") {
    // which answer the defaults returned: the classical one, the generator's, or a blend
    const answer = document.createElement("span");
    answer.className = "score";
    answer.textContent = column.answer === "blend"
      ? `answer: blend, ${column.weight} generator` : `answer: ${column.answer}`;
    lines.push(answer);
  }
  return lines;
}

function openZoom(item) {
  $("zoom-img").src = item.src;
  $("zoom-img").alt = item.label;
  $("zoom-caption").textContent = item.caption;
  $("zoom").showModal();
}

function panel(item, best) {
  const figure = document.createElement("figure");
  figure.className = "panel";
  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-label", `enlarge ${item.label}`);
  const img = document.createElement("img");
  img.className = "pixels"; img.src = item.src; img.alt = item.label;
  button.append(img);
  button.addEventListener("click", () => openZoom(item));
  const caption = document.createElement("figcaption");
  const label = document.createElement("span");
  label.className = "label"; label.textContent = item.label;
  caption.append(label);
  if (item.note) {
    const note = document.createElement("span");
    note.className = "score"; note.textContent = item.note;
    caption.append(note);
  }
  if (item.column) {
    figure.dataset.column = item.key;
    figure.dataset.psnr = item.column.psnr;
    caption.append(...scoreLines(item.column, best));
    if (best.psnr === item.key) figure.classList.add("best-psnr");
  }
  figure.append(button, caption);
  return figure;
}

function summarise(r) {
  const byKey = Object.fromEntries(r.columns.map((c) => [c.key, c]));
  const surgery = byKey.surgery;
  const others = r.columns.filter((c) => c.key !== "surgery");
  if (!surgery || !others.length) {
    return "Serve a c=0 artifact of the same weights too, or keep the classical method, to compare.";
  }
  const diffs = others.map((c) => {
    const d = surgery.psnr - c.psnr;
    return `${Math.abs(d).toFixed(2)} dB ${d >= 0 ? "above" : "below"} ${c.label}`;
  });
  return `${surgery.label}: PSNR ${surgery.psnr.toFixed(2)} dB, ${diffs.join(", ")} on this photo (seed ${r.request.seed}).`;
}

function fillSwipe() {
  const [a, b] = [$("swipe-a"), $("swipe-b")];
  for (const select of [a, b]) {
    select.replaceChildren(...state.shown.map((item) => new Option(item.label, item.key)));
  }
  const keys = state.shown.map((item) => item.key);
  a.value = ["no_surgery", "classical", "observation"].find((k) => keys.includes(k)) || keys[0];
  b.value = keys.includes("surgery") ? "surgery" : keys[keys.length - 1];
  showSwipe();
}

function showSwipe() {
  const find = (key) => state.shown.find((item) => item.key === key);
  const [a, b] = [find($("swipe-a").value), find($("swipe-b").value)];
  if (!a || !b) return;
  $("swipe-img-a").src = a.src; $("swipe-img-a").alt = `left: ${a.label}`;
  $("swipe-img-b").src = b.src; $("swipe-img-b").alt = `right: ${b.label}`;
  const pos = Number($("swipe-pos").value);
  $("swipe-img-b").style.clipPath = `inset(0 0 0 ${pos}%)`;
  $("swipe-line").style.left = `${pos}%`;
  $("swipe-pos").setAttribute("aria-valuetext", `${pos} % ${a.label}, ${100 - pos} % ${b.label}`);
}

function showResult(snap) {
  const base = `/api/jobs/${snap.id}/files`, r = snap.result;
  const best = r.best || {};
  const scores = (c) => `${c.label}\nPSNR ${c.psnr.toFixed(2)} dB · SSIM ${c.ssim.toFixed(3)}`;
  state.shown = [
    { key: "truth", label: "truth", src: `${base}/truth.png`, caption: "truth" },
    { key: "observation", label: "observation", note: r.observation, src: `${base}/observation.png`,
      caption: `observation: ${r.observation}` },
    ...r.columns.map((c) => ({ key: c.key, label: c.label, src: `${base}/${c.key}.png`, column: c,
                               caption: scores(c) })),
  ];
  $("panels").replaceChildren(...state.shown.map((item) => panel(item, best)));
  $("summary").textContent = summarise(r);
  $("job-info").textContent = `${snap.source || "photo"} · ${r.observation} · ${snap.artifact} · seed ${r.request.seed} · job ${snap.id}`;
  const last = r.columns[r.columns.length - 1];
  $("dl-result").href = `${base}/${last.key}.png`;
  $("dl-compare").href = `${base}/compare.png`;
  $("dl-report").href = `${base}/report.json`;
  fillSwipe();
  $("results").hidden = false;
}

// ------------------------------------------------------------------ recent jobs, restore
function recentJobs() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY)) || []; } catch { return []; }
}

function saveRecent(ids) { localStorage.setItem(RECENT_KEY, JSON.stringify(ids.slice(0, RECENT_MAX))); }

function remember(snap) {
  saveRecent([snap.id, ...recentJobs().filter((id) => id !== snap.id)]);
  renderRecent();
}

async function renderRecent() {
  // Only jobs the server still has are listed (it forgets old ones, and all when it stops).
  const ids = recentJobs();
  const found = await Promise.all(ids.map((id) => api(`/api/jobs/${encodeURIComponent(id)}`)
    .catch((err) => (err.status === 404 ? null : { id, unknown: true }))));
  const alive = found.filter(Boolean);
  saveRecent(alive.map((snap) => snap.id));
  const items = alive.map((snap) => {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = `?job=${encodeURIComponent(snap.id)}`;
    link.textContent = snap.unknown ? snap.id
      : `${snap.source || "photo"} · ${snap.result ? snap.result.observation : snap.task} · ${snap.status}`;
    if (snap.id === state.job) link.setAttribute("aria-current", "page");
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = snap.created ? ` ${new Date(snap.created * 1000).toLocaleTimeString()}` : "";
    li.append(link, when);
    return li;
  });
  $("recent-list").replaceChildren(...items);
  $("recent").hidden = items.length === 0;
}

function applyRequest(request) {
  // Show the restored job's settings in the form (its photo stays on the server).
  if (state.artifacts.some((a) => a.id === request.artifact)) $("artifact").value = request.artifact;
  document.querySelector(`input[name=task][value=${request.task}]`).checked = true;
  $("ratio").value = request.ratio; $("keep").value = request.keep;
  $("scale").value = String(request.scale);
  if (request.noise_std != null) $("noise").value = request.noise_std;
  $("seed").value = request.seed;
  $("steps").value = request.steps ?? ""; $("restarts").value = request.restarts ?? "";
  $("quality").value = request.quality ?? "fast";
  $("compare").checked = request.compare; $("classical").checked = request.classical !== false;
  for (const id of ["ratio", "keep"]) $(`${id}-out`).textContent = pct($(id).value);
  $("noise-out").textContent = Number($("noise").value).toFixed(2);
  showOptions();
}

async function restore(id) {
  try {
    const snap = await api(`/api/jobs/${encodeURIComponent(id)}`);
    applyRequest(snap.request);
    remember(snap);
    follow(snap);
  } catch (err) {
    setJobInUrl(null);
    showError(err.status === 404
      ? `Job ${id} is no longer on this server (it keeps recent jobs until it stops); start a new one.`
      : err.message);
  }
}

// ------------------------------------------------------------------ start
async function init() {
  setupBrush();
  setupPhotoInputs();
  for (const input of document.querySelectorAll("input[name=task], input[name=inpaint-mode]")) {
    input.addEventListener("change", () => { showOptions(); schedulePreview(0); });
  }
  $("ratio").addEventListener("input", () => { $("ratio-out").textContent = pct($("ratio").value); });
  $("keep").addEventListener("input", () => { $("keep-out").textContent = pct($("keep").value); });
  $("noise").addEventListener("input", () => { $("noise-out").textContent = Number($("noise").value).toFixed(2); });
  $("brush").addEventListener("input", () => { $("brush-out").textContent = `${$("brush").value} px`; });
  for (const id of ["ratio", "keep", "noise", "scale", "seed"]) $(id).addEventListener("change", () => schedulePreview());
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", async () => {
    if (state.job) { try { await api(`/api/jobs/${state.job}`, { method: "DELETE" }); } catch (err) { showError(err.message); } }
  });
  for (const input of document.querySelectorAll("input[name=size]")) {
    input.addEventListener("change", () => $("results").style.setProperty("--cell", `${input.value}px`));
  }
  for (const id of ["swipe-a", "swipe-b"]) $(id).addEventListener("change", showSwipe);
  $("swipe-pos").addEventListener("input", showSwipe);
  const view = $("swipe-view");
  const drag = (ev) => {
    if (ev.type !== "pointerdown" && !view.hasPointerCapture(ev.pointerId)) return;
    const r = view.getBoundingClientRect();
    $("swipe-pos").value = String(Math.round(100 * (ev.clientX - r.left) / r.width));
    showSwipe();
  };
  view.addEventListener("pointerdown", (ev) => { view.setPointerCapture(ev.pointerId); drag(ev); });
  view.addEventListener("pointermove", drag);
  $("zoom-close").addEventListener("click", () => $("zoom").close());
  showOptions();
  try {
    const info = await api("/api/artifacts");
    state.limits = info.limits;
    state.artifacts = info.artifacts;
    const select = $("artifact");
    for (const a of info.artifacts) {
      select.append(new Option(`${a.file} (${a.model}, cut ${a.cut}, ${a.image_shape[2]}×${a.image_shape[1]})`, a.id));
    }
    const deepest = info.artifacts.reduce((best, a) => (a.cut > best.cut ? a : best), info.artifacts[0]);
    select.value = deepest.id;
    const describe = () => {
      const a = artifact();
      $("artifact-info").textContent = a.no_surgery ? `compares with ${a.no_surgery}` : "no c=0 sibling served: no comparison";
      fitLimits();
    };
    // Each artifact offers images of its own domain (digits for an MNIST generator).
    const showExamples = () => {
      const own = artifact().examples || [];
      for (const button of document.querySelectorAll("#examples button")) {
        button.hidden = !own.includes(button.dataset.example);
      }
    };
    select.addEventListener("change", () => { describe(); showExamples(); schedulePreview(0); });
    describe();
    const examples = await api("/api/examples");
    for (const name of examples.examples) {
      const button = document.createElement("button");
      button.type = "button"; button.dataset.example = name;
      button.setAttribute("aria-pressed", "false");
      const img = document.createElement("img");
      img.src = `/api/examples/${name}`; img.alt = "";
      const label = document.createElement("span");
      label.textContent = name;
      button.append(img, label);
      button.addEventListener("click", () => choosePhoto({ example: name }));
      $("examples").append(button);
    }
    showExamples();
  } catch (err) { showError(err.message); }
  const id = new URLSearchParams(location.search).get("job");
  if (id) await restore(id); else renderRecent();
}

init();
