// The kiosk screens' only script: the inactivity warning, the on-screen keypad, the camera for the face
// check, the app login's waiting, and a "working" note while the scanner runs. No framework, nothing from
// elsewhere; every screen works as a plain form without it except the camera.
'use strict';
(function () {
  var body = document.body;
  var idle = Number(body.dataset.idle) || 90;
  var grace = Number(body.dataset.grace) || 25;
  var inVisit = body.dataset.visit === 'true';

  // Inactivity: a warning with a sound after `idle` seconds without a touch, then the visit ends.
  var dialog = document.getElementById('idle');
  var left = document.getElementById('idle-left');
  var timer = null, countdown = null, lastPing = 0;
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no sound device */ }
  }
  function endVisit() {
    var form = document.getElementById('end');
    if (form) form.submit(); else location.href = '/';
  }
  function warn() {
    if (!dialog) return endVisit();
    var n = grace;
    left.textContent = n;
    dialog.hidden = false;
    document.getElementById('more').focus();
    beep();
    countdown = setInterval(function () {
      n -= 1;
      left.textContent = n;
      if (n <= 0) { clearInterval(countdown); endVisit(); }
    }, 1000);
  }
  function touched() {
    if (!inVisit) return;
    clearTimeout(timer);
    timer = setTimeout(warn, idle * 1000);
    var now = Date.now();
    if (now - lastPing > 10000) {
      lastPing = now;
      fetch('/touch', { method: 'POST' }).then(function (r) { if (r.status === 410) location.href = '/'; });
    }
  }
  if (inVisit) {
    ['pointerdown', 'keydown'].forEach(function (t) { document.addEventListener(t, touched, true); });
    timer = setTimeout(warn, idle * 1000);
    var more = document.getElementById('more');
    if (more) more.addEventListener('click', function () {
      clearInterval(countdown);
      dialog.hidden = true;
      lastPing = 0;
      touched();
    });
  }

  // Spoken guidance: the step's prompt plays when the screen opens (a kiosk's browser allows it) and again on
  // the button; without a voice on this kiosk the button stays hidden.
  var voice = document.getElementById('voice');
  var listen = document.getElementById('listen');
  if (voice && listen) {
    voice.addEventListener('canplaythrough', function () { listen.hidden = false; }, { once: true });
    listen.addEventListener('click', function () { voice.currentTime = 0; voice.play(); });
    var p = voice.play();
    if (p && p.catch) p.catch(function () { /* autoplay refused: the button still works */ });
  }

  // The on-screen keypad types into the focused field of its form.
  document.querySelectorAll('[data-keypad]').forEach(function (form) {
    var pad = form.querySelector('.keypad');
    var fields = Array.prototype.slice.call(form.querySelectorAll('input:not([readonly]):not([type=radio]):not([type=hidden])'));
    var current = fields[0];
    pad.hidden = false;
    fields.forEach(function (f) { f.addEventListener('focus', function () { current = f; }); });
    pad.addEventListener('click', function (e) {
      var key = e.target.closest('button') && e.target.closest('button').dataset.key;
      if (!key || !current) return;
      if (key === 'back') current.value = current.value.slice(0, -1);
      else if (key === 'next') { var i = fields.indexOf(current); current = fields[(i + 1) % fields.length]; }
      else if (current.value.length < (current.maxLength > 0 ? current.maxLength : 99)) current.value += key;
      current.focus();
    });
  });

  // Forms that take a while (the scanner, sending the request): say so, and do not send twice.
  document.querySelectorAll('form[data-busy]').forEach(function (form) {
    form.addEventListener('submit', function () {
      var busy = document.getElementById('busy');
      if (busy) busy.hidden = false;
      document.querySelectorAll('form[data-busy] button').forEach(function (b) { b.disabled = true; });
    });
  });

  // The app login: ask the kiosk every few seconds whether the citizen approved.
  var status = document.getElementById('app-status') || document.getElementById('pay-status');
  if (status && status.dataset.poll) {
    var poll = function () {
      fetch(status.dataset.poll, { method: 'POST' }).then(function (r) { return r.json(); }).then(function (a) {
        if (a.next) location.href = a.next; else setTimeout(poll, 3000);
      }).catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 3000);
  }

  // The face check: one frame for each pose the central service asked for, sent to the kiosk.
  var box = document.querySelector('.camera');
  if (box) {
    var video = document.getElementById('camera');
    var say = document.getElementById('instruction');
    var error = document.getElementById('face-error');
    var start = document.getElementById('face-start');
    var poses = ['centre'];
    box.dataset.challenge.split(',').filter(Boolean).forEach(function (t) { poses.push(t, 'centre'); });
    var stream = null;
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
      .then(function (s) { stream = s; video.srcObject = s; say.textContent = box.dataset.centre; })
      .catch(function () { error.textContent = box.dataset.nocamera; error.hidden = false; start.disabled = true; });
    var wait = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };
    var grab = function () {
      var c = document.createElement('canvas');
      c.width = video.videoWidth; c.height = video.videoHeight;
      c.getContext('2d').drawImage(video, 0, 0);
      return new Promise(function (r) { c.toBlob(r, 'image/jpeg', 0.9); });
    };
    // One frame per pose: the kiosk tells when the head shows the pose asked (or, without face models,
    // the frame is taken 2.2 s after the instruction).
    var capture = async function (pose) {
      say.textContent = box.dataset[pose];
      touched();
      var deadline = Date.now() + 12000;
      while (Date.now() < deadline) {
        var blob = await grab();
        var r = await fetch('/identify/face/pose', { method: 'POST', body: blob });
        if (r.status === 503) { await wait(2200); return grab(); }
        if (!r.ok) throw new Error(box.dataset.nocamera);
        var a = await r.json();
        box.dataset.seen = (box.dataset.seen || '') + pose + ':' + a.pose + ':' + (a.yaw === null ? '-' : a.yaw.toFixed(2)) + ' ';
        if (a.pose === pose) return blob;
        await wait(150 + Math.random() * 200);
      }
      throw new Error(box.dataset.slow);
    };
    start.addEventListener('click', async function () {
      if (!stream) return;
      start.disabled = true;
      error.hidden = true;
      var frames = [];
      try {
        for (var i = 0; i < poses.length; i++) frames.push(await capture(poses[i]));
        say.textContent = box.dataset.sending;
        var form = new FormData();
        frames.forEach(function (b, n) { form.append('frame', b, 'frame' + n + '.jpg'); });
        var a = await (await fetch('/identify/face', { method: 'POST', body: form })).json();
        frames.length = 0;
        if (a.next) { stream.getTracks().forEach(function (t) { t.stop(); }); location.href = a.next; return; }
        error.textContent = a.error.message + (a.error.code ? ' (' + a.error.code + ')' : '');
        start.disabled = !a.retry;
      } catch (e) {
        error.textContent = e.message;
        start.disabled = false;
      }
      error.hidden = false;
      say.textContent = box.dataset.centre;
    });
  }
})();
