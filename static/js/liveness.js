// The live face check of sign-in, enrolment and the door kiosk. The server issues a challenge
// (a random sequence of head turns, single use, valid for a few seconds); the page prompts each
// turn, records a short burst of camera frames and sends them once with the form, with the
// challenge's nonce. There is no file input: a photo cannot be chosen instead of the camera.
// Nothing is kept: the stream is stopped and the frames dropped once sent.
// A page that asks for challenges and sends bursts itself (the kiosk, with its device key)
// marks its form data-face-custom and calls LiveFaceCheck.setUp(form, {challenge, send}):
// challenge() gives a promise of the issued challenge, send(frames, nonce) sends the burst;
// the check is then ready again for the next person.
(function () {
  "use strict";
  if (!window.gettext) {
    window.gettext = function (text) { return text; };
  }
  var gettext = window.gettext;
  var TICK_MS = 100;       // the prompt follows the script this closely
  var FRONT_MS = 1000;     // looking at the camera, before and after each turn
  var TURN_MS = 1400;      // holding a turn
  // Frames are taken only where the pose is settled, not on the way between poses (which the
  // server skips anyway): one while facing the camera (early in the first phase, later in the
  // others, once the head is back), two while holding each turn (after the time to react).
  // A challenge of three turns gives 10 frames, half the worker's work of one every 0.4 s.
  var FIRST_FRONT_SHOTS = [0.4];
  var FRONT_SHOTS = [0.6];
  var TURN_SHOTS = [0.55, 0.85];
  var WIDTH = 480;
  var HEIGHT = 360;

  function show(element, visible) {
    if (element) { element.hidden = !visible; }
  }

  function setUp(form, custom) {
    // The script runs: the note for browsers without it goes (shown by default, since a
    // browser with scripts turned off may still parse <noscript> as if they were on).
    Array.prototype.forEach.call(form.querySelectorAll("[data-needs-script]"), function (note) {
      note.hidden = true;
    });
    var box = form.querySelector("[data-camera]");
    var progress = form.querySelector("[data-progress]");
    var submit = form.querySelector('button[type="submit"]');
    var nonceInput = form.querySelector('input[name="nonce"]');
    var sent = false;
    if (!box) { return null; }
    var begin = box.querySelector("[data-check-start]");
    var ready = box.querySelector("[data-camera-start]");
    var plan = box.querySelector("[data-plan]");
    var steps = box.querySelector("[data-steps]");
    var live = box.querySelector("[data-camera-live]");
    var video = box.querySelector("video");
    var prompt = box.querySelector("[data-prompt]");
    var status = box.querySelector("[data-camera-status]");
    var stream = null;
    var challenge = null;
    show(box, true);
    if (submit) { submit.hidden = true; }

    function say(text) { status.textContent = text; }

    // The page's own words where it has them (a door says "door code", not "password").
    function text(name, fallback) { return form.getAttribute("data-text-" + name) || fallback; }

    function clearFrames() {
      form.querySelectorAll('input[name="frame"]').forEach(function (input) { input.remove(); });
    }

    function stopCamera() {
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
      video.srcObject = null;
      show(live, false);
    }

    function firstEmptyField() {
      var fields = form.querySelectorAll("input[type=text], select");
      for (var i = 0; i < fields.length; i += 1) {
        if (!fields[i].value) { return fields[i]; }
      }
      return null;
    }

    function script() {
      var phases = [{ prompt: challenge.front, ms: FRONT_MS, shots: FIRST_FRONT_SHOTS }];
      challenge.steps.forEach(function (step) {
        phases.push({ prompt: step.prompt, ms: TURN_MS, pose: step.pose, shots: TURN_SHOTS });
        phases.push({ prompt: challenge.front, ms: FRONT_MS, shots: FRONT_SHOTS });
      });
      return phases;
    }

    function moments(phases) {
      // When each frame is taken, in ms from the start of the recording.
      var at = 0;
      var times = [];
      phases.forEach(function (phase) {
        phase.shots.forEach(function (share) { times.push(at + share * phase.ms); });
        at += phase.ms;
      });
      return times;
    }

    function record() {
      var canvas = document.createElement("canvas");
      canvas.width = WIDTH;
      canvas.height = HEIGHT;
      var context = canvas.getContext("2d");
      var frames = [];
      var phases = script();
      var shots = moments(phases);
      var next = 0;
      var started = performance.now();
      var shown = -1;
      var timer = window.setInterval(function () {
        var elapsed = performance.now() - started;
        var at = 0;
        var index = 0;
        while (index < phases.length - 1 && elapsed >= at + phases[index].ms) {
          at += phases[index].ms;
          index += 1;
        }
        if (index !== shown) {
          shown = index;
          prompt.textContent = phases[index].prompt;
          prompt.setAttribute("data-pose", phases[index].pose || "front");
        }
        if (next < shots.length && elapsed >= shots[next]) {
          next += 1;
          context.drawImage(video, 0, 0, WIDTH, HEIGHT);
          frames.push(canvas.toDataURL("image/jpeg", 0.85));
        }
        if (next >= shots.length) {
          window.clearInterval(timer);
          canvas.width = 0;  // drop the pixels
          stopCamera();
          send(frames);
        }
      }, TICK_MS);
    }

    function send(frames) {
      prompt.textContent = "";
      if (custom) {
        say(gettext("Recording done. Sending it once; it is not kept."));
        custom.send(frames, challenge.nonce);
        frames.length = 0;
        challenge = null;
        return;
      }
      clearFrames();
      frames.forEach(function (frame) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "frame";
        input.value = frame;
        form.appendChild(input);
      });
      nonceInput.value = challenge.nonce;
      say(gettext("Recording done. Sending it once; it is not kept."));
      form.requestSubmit(submit || undefined);
    }

    begin.addEventListener("click", function () {
      var empty = firstEmptyField();
      if (empty) {
        say(gettext("Fill in the field above first, then start the face check."));
        empty.focus();
        return;
      }
      requestChallenge().then(function (issued) {
        challenge = issued;
        steps.textContent = "";
        issued.steps.forEach(function (step) {
          var item = document.createElement("li");
          item.textContent = step.prompt;
          item.setAttribute("data-pose", step.pose);
          steps.appendChild(item);
        });
        show(plan, true);
        say("");
        ready.focus();
      }).catch(function (problem) {
        say((problem && problem.message) || text("no-challenge",
          gettext("The face check could not be started. Try again, or use your password and code.")));
      });
    });

    // A challenge from the server: the session's (with the CSRF token), or the page's own.
    function requestChallenge() {
      if (custom) { return custom.challenge(); }
      var token = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
      return fetch(form.getAttribute("data-challenge-url"), {
        method: "POST",
        headers: { "X-CSRFToken": token },
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error((body.error && body.error.message) || ""); }
          return body;
        });
      });
    }

    ready.addEventListener("click", function () {
      say(gettext("Starting the camera…"));
      navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
        .then(function (granted) {
          stream = granted;
          video.srcObject = stream;
          show(plan, false);
          show(live, true);
          say(gettext("The camera is on. Follow the prompts."));
          var wait = window.setInterval(function () {
            if (video.videoWidth) {
              window.clearInterval(wait);
              record();
            }
          }, 50);
        })
        .catch(function () {
          say(text("no-camera",
            gettext("The camera is not available. Use your password and code instead.")));
        });
    });

    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }  // one burst, sent once
      sent = true;
      if (progress) { show(progress, true); }
      if (submit) { submit.disabled = true; }
    });
    // Coming back to the page (history, cache): no frame stays in the form.
    window.addEventListener("pageshow", function () {
      clearFrames();
      sent = false;
      show(progress, false);
    });
    window.addEventListener("pagehide", stopCamera);

    // Ready for the next person (the kiosk, once its answer is shown).
    return {
      reset: function () {
        stopCamera();
        challenge = null;
        sent = false;
        show(plan, false);
        prompt.textContent = "";
        say("");
      }
    };
  }

  window.LiveFaceCheck = {
    supported: Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
    setUp: setUp
  };
  if (!window.LiveFaceCheck.supported) { return; }
  document.querySelectorAll("[data-face-form]:not([data-face-custom])").forEach(function (form) {
    setUp(form);
  });
})();
