// Camera capture for face forms: a progressive enhancement over the plain file input.
// The camera starts only when the person asks; one frame goes into the form's file input and is
// sent once with the form. Nothing is kept: the stream is stopped and the frame dropped.
(function () {
  "use strict";
  if (!window.gettext) {
    window.gettext = function (text) { return text; };
  }
  var gettext = window.gettext;

  function show(element, visible) {
    if (element) { element.hidden = !visible; }
  }

  function setUp(form) {
    var box = form.querySelector("[data-camera]");
    var input = form.querySelector('input[type="file"]');
    var progress = form.querySelector("[data-progress]");
    var submit = form.querySelector('button[type="submit"]');
    var sent = false;

    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }  // one photo, sent once
      sent = true;
      if (progress) {
        show(progress, true);
        var text = progress.querySelector("[data-progress-text]");
        if (text) { text.textContent = gettext("Checking your face. This takes a few seconds."); }
      }
      if (submit) { submit.disabled = true; }
    });
    // Coming back to the page (history, cache), or a page that sends its photo itself and
    // is ready for the next one (the door kiosk): no photo stays in the form.
    function reset() {
      if (input) { input.value = ""; }
      sent = false;
      if (submit) { submit.disabled = false; }
      show(progress, false);
    }
    window.addEventListener("pageshow", reset);
    form.addEventListener("face:reset", reset);

    if (!box || !input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return;
    }
    var start = box.querySelector("[data-camera-start]");
    var live = box.querySelector("[data-camera-live]");
    var video = box.querySelector("video");
    var capture = box.querySelector("[data-capture]");
    var stop = box.querySelector("[data-camera-stop]");
    var status = box.querySelector("[data-camera-status]");
    var stream = null;
    show(box, true);

    function say(text) { status.textContent = text; }

    function stopCamera() {
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
      video.srcObject = null;
      show(live, false);
      show(start, true);
    }

    function firstEmptyField() {
      var fields = form.querySelectorAll("input[type=text], select");
      for (var i = 0; i < fields.length; i += 1) {
        if (!fields[i].value) { return fields[i]; }
      }
      return null;
    }

    start.addEventListener("click", function () {
      say(gettext("Starting the camera…"));
      navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
        .then(function (granted) {
          stream = granted;
          video.srcObject = stream;
          show(start, false);
          show(live, true);
          say(gettext("The camera is on. Look straight at it, then take the photo."));
          capture.focus();
        })
        .catch(function () {
          say(gettext("The camera is not available. Choose a photo file instead."));
          input.focus();
        });
    });

    stop.addEventListener("click", function () {
      stopCamera();
      say(gettext("The camera is off."));
      start.focus();
    });

    capture.addEventListener("click", function () {
      var empty = firstEmptyField();
      if (empty) {
        say(gettext("Fill in the field above first, then take the photo."));
        empty.focus();
        return;
      }
      if (!video.videoWidth) {
        say(gettext("The camera is still starting. Try again in a moment."));
        return;
      }
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      stopCamera();
      canvas.toBlob(function (blob) {
        canvas.width = 0;  // drop the pixels
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
        input.files = transfer.files;
        say(gettext("Photo taken. Sending it once; it is not kept."));
        form.requestSubmit(submit || undefined);
      }, "image/jpeg", 0.92);
    });

    window.addEventListener("pagehide", stopCamera);
  }

  document.querySelectorAll("[data-face-form]").forEach(setUp);
})();
