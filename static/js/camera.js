// Camera capture for face forms: a progressive enhancement over the plain file input.
// The picture goes into the form's file input and is sent once with the form; nothing is kept.
(function () {
  "use strict";
  var t = window.gettext || function (s) { return s; };

  function setUp(form) {
    var box = form.querySelector("[data-camera]");
    var input = form.querySelector('input[type="file"]');
    var progress = form.querySelector("[data-progress]");
    form.addEventListener("submit", function () {
      if (progress) { progress.hidden = false; }
      var button = form.querySelector('button[type="submit"]');
      if (button) { button.disabled = true; }
    });
    if (!box || !input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return;
    }
    var video = box.querySelector("video");
    var status = box.querySelector("[data-camera-status]");
    var capture = box.querySelector("[data-capture]");
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
      .then(function (stream) {
        box.hidden = false;
        video.srcObject = stream;
        capture.addEventListener("click", function () {
          var canvas = document.createElement("canvas");
          canvas.width = video.videoWidth || 640;
          canvas.height = video.videoHeight || 480;
          canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
          canvas.toBlob(function (blob) {
            var file = new File([blob], "camera.jpg", { type: "image/jpeg" });
            var transfer = new DataTransfer();
            transfer.items.add(file);
            input.files = transfer.files;
            status.textContent = t("Photo taken. Sending it now.");
            stream.getTracks().forEach(function (track) { track.stop(); });
            form.requestSubmit();
          }, "image/jpeg", 0.92);
        });
      })
      .catch(function () {
        status.textContent = t("The camera is not available. Choose a photo instead.");
        box.hidden = false;
        video.hidden = true;
        capture.hidden = true;
      });
  }

  document.querySelectorAll("[data-face-form]").forEach(setUp);
})();
