// The page is a client of the JSON API: GET /api/artifacts, POST /api/jobs,
// GET /api/jobs/{id}/events (server-sent events), files, DELETE to cancel.
"use strict";
const $ = (id) => document.getElementById(id);
const SIDE = 256;
const state = { file: null, example: null, limits: null, job: null, source: null,
                painted: false, lastImage: 0 };

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
  return body;
}

function task() { return document.querySelector("input[name=task]:checked").value; }
function inpaintMode() { return document.querySelector("input[name=inpaint-mode]:checked").value; }

function showOptions() {
  for (const box of document.querySelectorAll(".options")) box.hidden = box.dataset.task !== task();
  for (const box of document.querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== inpaintMode();
  $("paint").style.pointerEvents = task() === "inpaint" && inpaintMode() === "brush" ? "auto" : "none";
  $("paint").style.visibility = task() === "inpaint" && inpaintMode() === "brush" ? "visible" : "hidden";
}

function drawPhoto(img) {
  // Center square crop, as gs.io.resize_image does on the server.
  const side = Math.min(img.naturalWidth, img.naturalHeight);
  const left = Math.floor((img.naturalWidth - side) / 2);
  const top = Math.floor((img.naturalHeight - side) / 2);
  const ctx = $("photo").getContext("2d");
  ctx.clearRect(0, 0, SIDE, SIDE);
  ctx.drawImage(img, left, top, side, side, 0, 0, SIDE, SIDE);
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the chosen file is not an image the browser can read (png, jpg, webp...)"));
    img.src = url;
  });
}

async function chooseFile(file) {
  showError("");
  state.file = file; state.example = null;
  for (const el of document.querySelectorAll("#examples img")) el.classList.remove("chosen");
  $("photo-name").textContent = `${file.name} (${(file.size / 1024).toFixed(0)} kB)`;
  const url = URL.createObjectURL(file);
  try { drawPhoto(await loadImage(url)); } catch (err) { showError(err.message); }
  finally { URL.revokeObjectURL(url); }
}

async function chooseExample(name, el) {
  showError("");
  state.example = name; state.file = null;
  for (const other of document.querySelectorAll("#examples img")) other.classList.toggle("chosen", other === el);
  $("photo-name").textContent = `example: ${name}`;
  drawPhoto(await loadImage(`/api/examples/${name}`));
}

function setupBrush() {
  const canvas = $("paint");
  const ctx = canvas.getContext("2d");
  let down = false, last = null;
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * SIDE / r.width, (ev.clientY - r.top) * SIDE / r.height];
  };
  const stroke = (p) => {
    ctx.strokeStyle = "rgba(220, 38, 38, 0.85)";
    ctx.fillStyle = "rgba(220, 38, 38, 0.85)";
    ctx.lineWidth = Number($("brush").value);
    ctx.lineCap = "round";
    ctx.beginPath();
    if (last) { ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke(); }
    else { ctx.arc(p[0], p[1], ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill(); }
    last = p; state.painted = true;
  };
  canvas.addEventListener("pointerdown", (ev) => { down = true; last = null; canvas.setPointerCapture(ev.pointerId); stroke(at(ev)); });
  canvas.addEventListener("pointermove", (ev) => { if (down) stroke(at(ev)); });
  const up = () => { down = false; last = null; };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  $("clear-mask").addEventListener("click", () => { ctx.clearRect(0, 0, SIDE, SIDE); state.painted = false; });
}

function maskBlob() {
  // White = kept, black = painted (missing): the convention of gs-invert --mask.
  const paint = $("paint").getContext("2d").getImageData(0, 0, SIDE, SIDE).data;
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

async function run() {
  showError("");
  if (!state.file && !state.example) { showError("Choose a photo first: upload one or pick an example."); return; }
  const limit = state.limits && state.limits.max_upload_bytes;
  if (state.file && limit && state.file.size > limit) {
    showError(`The photo is ${(state.file.size / 1048576).toFixed(1)} MB; this server accepts at most ${(limit / 1048576).toFixed(1)} MB.`);
    return;
  }
  const form = new FormData();
  form.append("artifact", $("artifact").value);
  form.append("task", task());
  form.append("seed", $("seed").value || "0");
  form.append("compare", $("compare").checked ? "true" : "false");
  for (const name of ["steps", "restarts"]) if ($(name).value) form.append(name, $(name).value);
  if (task() === "cs") form.append("ratio", $("ratio").value);
  if (task() === "sr") form.append("scale", $("scale").value);
  if (task() === "denoise") form.append("noise_std", $("noise").value);
  if (task() === "inpaint") {
    if (inpaintMode() === "random") form.append("keep", $("keep").value);
    else if (!state.painted) { showError("Paint the missing region on the photo first, or choose random pixels."); return; }
    else form.append("mask", await maskBlob(), "mask.png");
  }
  if (state.file) form.append("image", state.file, state.file.name);
  else form.append("example", state.example);
  try {
    const job = await api("/api/jobs", { method: "POST", body: form });
    follow(job);
  } catch (err) { showError(err.message); }
}

function follow(job) {
  state.job = job.id;
  $("live").hidden = false; $("results").hidden = true;
  $("run").disabled = true; $("cancel").disabled = false;
  $("current").removeAttribute("src");
  if (state.source) state.source.close();
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  state.source = source;
  const handle = (ev) => {
    const snap = JSON.parse(ev.data);
    update(snap);
    if (["done", "failed", "cancelled"].includes(snap.status)) source.close();
  };
  for (const name of ["queued", "running", "done", "failed", "cancelled"]) source.addEventListener(name, handle);
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) return;
    source.close(); poll(job.id); };
}

async function poll(id) {
  // Fallback when the event stream breaks: GET the job until it ends.
  try {
    const snap = await api(`/api/jobs/${id}`);
    update(snap);
    if (!["done", "failed", "cancelled"].includes(snap.status)) setTimeout(() => poll(id), 500);
  } catch (err) { showError(err.message); finish(); }
}

function finish() { $("run").disabled = false; $("cancel").disabled = true; }

function update(snap) {
  const p = snap.progress;
  if (snap.status === "queued") $("status").textContent = `waiting in the queue (position ${snap.queue_position + 1})`;
  if (snap.status === "running" && p) {
    const column = p.column === "no_surgery" ? "no surgery (c=0)" : `surgery (cut ${p.cut})`;
    $("status").textContent = `${column} · stage ${p.stage + 1} · step ${p.step} / ${p.steps} · measurement loss ${p.loss.toExponential(3)}`;
    $("bar").value = p.steps ? p.step / p.steps : 0;
    drawChart(snap.trace);
    const now = performance.now();
    if (now - state.lastImage > 300 || p.step >= p.steps) {
      state.lastImage = now;
      $("current").src = `/api/jobs/${snap.id}/current.png?v=${snap.version}`;
    }
  }
  if (snap.status === "failed" || snap.status === "cancelled") {
    $("status").textContent = snap.status;
    if (snap.status === "failed") showError(snap.error);
    finish();
  }
  if (snap.status === "done") { drawChart(snap.trace); $("status").textContent = `done in ${snap.seconds.toFixed(1)} s`; $("bar").value = 1; showResult(snap); finish(); }
}

const SERIES = { no_surgery: "#9aa5b1", surgery: "#2563eb" };

function drawChart(trace) {
  // One curve per column (no surgery grey, surgery blue), log10 of the measurement loss.
  const canvas = $("chart"), ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#cbd2d9"; ctx.lineWidth = 1; ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  if (!trace || trace.length < 2) return;
  const logs = trace.map((t) => Math.log10(Math.max(t[3], 1e-12)));
  const lo = Math.min(...logs), hi = Math.max(...logs), span = Math.max(hi - lo, 1e-6);
  const columns = [...new Set(trace.map((t) => t[0]))];
  const longest = Math.max(...columns.map((c) => trace.filter((t) => t[0] === c).length));
  columns.forEach((column, k) => {
    const points = trace.map((t, i) => [t[0], logs[i]]).filter((t) => t[0] === column);
    ctx.strokeStyle = SERIES[column] || "#2563eb"; ctx.lineWidth = 2; ctx.beginPath();
    points.forEach(([, v], i) => {
      const x = 4 + (w - 8) * i / Math.max(longest - 1, 1), y = 4 + (h - 8) * (hi - v) / span;
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = SERIES[column] || "#2563eb"; ctx.font = "11px sans-serif";
    ctx.fillText(column.replace("_", " "), w - 80, 16 + 14 * k);
  });
  ctx.fillStyle = "#616e7c";
  ctx.fillText(`1e${hi.toFixed(1)}`, 6, 14); ctx.fillText(`1e${lo.toFixed(1)}`, 6, h - 6);
}

function panel(src, label, score) {
  const div = document.createElement("div");
  div.className = "panel";
  const img = document.createElement("img");
  img.src = src; img.alt = label;
  const caption = document.createElement("div");
  caption.className = "label"; caption.textContent = label;
  div.append(img, caption);
  if (score) {
    const s = document.createElement("div");
    s.className = "score"; s.textContent = score;
    div.append(s);
  }
  return div;
}

function showResult(snap) {
  const base = `/api/jobs/${snap.id}/files`, r = snap.result;
  const panels = $("panels");
  panels.replaceChildren(
    panel(`${base}/truth.png`, "truth"),
    panel(`${base}/observation.png`, "observation", r.observation),
    ...r.columns.map((c) => {
      const div = panel(`${base}/${c.key}.png`, c.label, `PSNR ${c.psnr.toFixed(2)} dB · SSIM ${c.ssim.toFixed(3)}`);
      div.dataset.column = c.key; div.dataset.psnr = c.psnr;
      return div;
    }));
  const last = r.columns[r.columns.length - 1];
  const first = r.columns[0];
  $("summary").textContent = r.columns.length > 1
    ? `surgery ${last.psnr - first.psnr >= 0 ? "gains" : "loses"} ${Math.abs(last.psnr - first.psnr).toFixed(2)} dB over no surgery on this photo (seed ${r.request.seed}).`
    : "Serve a c=0 artifact of the same weights too to compare with no surgery.";
  $("dl-result").href = `${base}/${last.key}.png`;
  $("dl-compare").href = `${base}/compare.png`;
  $("dl-report").href = `${base}/report.json`;
  $("results").hidden = false;
}

async function init() {
  setupBrush();
  for (const input of document.querySelectorAll("input[name=task], input[name=inpaint-mode]")) input.addEventListener("change", showOptions);
  const pct = (v) => `${Math.round(Number(v) * 100)} %`;
  $("ratio").addEventListener("input", () => { $("ratio-out").textContent = pct($("ratio").value); });
  $("keep").addEventListener("input", () => { $("keep-out").textContent = pct($("keep").value); });
  $("noise").addEventListener("input", () => { $("noise-out").textContent = Number($("noise").value).toFixed(2); });
  $("brush").addEventListener("input", () => { $("brush-out").textContent = `${$("brush").value} px`; });
  $("file").addEventListener("change", (ev) => { if (ev.target.files[0]) chooseFile(ev.target.files[0]); });
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", async () => {
    if (state.job) { try { await api(`/api/jobs/${state.job}`, { method: "DELETE" }); } catch (err) { showError(err.message); } }
  });
  showOptions();
  try {
    const info = await api("/api/artifacts");
    state.limits = info.limits;
    const select = $("artifact");
    for (const a of info.artifacts) {
      const option = document.createElement("option");
      option.value = a.id;
      option.textContent = `${a.file} (${a.model}, cut ${a.cut}, ${a.image_shape[2]}×${a.image_shape[1]})`;
      select.append(option);
    }
    const deepest = info.artifacts.reduce((best, a) => (a.cut > best.cut ? a : best), info.artifacts[0]);
    select.value = deepest.id;
    const describe = () => {
      const a = info.artifacts.find((x) => x.id === select.value);
      $("artifact-info").textContent = a.no_surgery ? `compares with ${a.no_surgery}` : "no c=0 sibling served: no comparison";
    };
    select.addEventListener("change", describe); describe();
    const examples = await api("/api/examples");
    for (const name of examples.examples) {
      const img = document.createElement("img");
      img.src = `/api/examples/${name}`; img.alt = name; img.title = name; img.dataset.example = name;
      img.addEventListener("click", () => chooseExample(name, img));
      $("examples").append(img);
    }
  } catch (err) { showError(err.message); }
}

init();
