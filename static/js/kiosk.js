// The door kiosk: a paired tablet opens its door through the device API with its own key.
// Face (the live challenge of face sign-in, liveness.js, asked for and answered with the
// device key), a keypad for door codes and one-time codes, and a card field; one large answer.
// The key lives only in this tablet's local storage.
(function () {
  "use strict";
  var root = document.querySelector("[data-kiosk]");
  if (!root) { return; }
  var STORE = "door-kiosk-key";
  var CLEAR_AFTER_MS = 8000;
  var fresh = root.getAttribute("data-new-key");
  if (fresh) {
    window.localStorage.setItem(STORE, fresh);
    root.setAttribute("data-new-key", "");
    window.history.replaceState(null, "", root.dataset.kioskUrl);
  }
  var key = window.localStorage.getItem(STORE);
  var paired = root.querySelector("[data-kiosk-paired]");
  var unpaired = root.querySelector("[data-kiosk-unpaired]");
  var answer = root.querySelector("[data-answer]");
  var detail = root.querySelector("[data-answer-detail]");
  var faceForm = root.querySelector("[data-kiosk-face]");
  var codeForm = root.querySelector("[data-kiosk-code]");
  var cardForm = root.querySelector("[data-kiosk-card]");
  var clearTimer = null;

  function showPaired(yes) {
    paired.hidden = !yes;
    unpaired.hidden = yes;
  }

  function say(text, kind, more) {
    answer.textContent = text;
    answer.className = "kiosk-answer" + (kind ? " " + kind : "");
    detail.textContent = more || "";
    window.clearTimeout(clearTimer);
    if (kind) {
      clearTimer = window.setTimeout(function () { say("", "", ""); }, CLEAR_AFTER_MS);
    }
  }

  function call(url, body) {
    var headers = { Authorization: "Device " + key };
    var payload = body;
    if (!(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return window.fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: headers,
      body: body === undefined ? undefined : payload,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) {
        return { status: response.status, data: data };
      }, function () { return { status: response.status, data: {} }; });
    });
  }

  function lost() {
    window.localStorage.removeItem(STORE);
    showPaired(false);
    unpaired.querySelector("h1").textContent = root.dataset.textLost;
  }

  function show(reply) {
    var data = reply.data || {};
    if (reply.status === 401) { lost(); return; }
    if (reply.status === 200 && data.open) {
      say(root.dataset.textOpen, "open", "");
    } else if (reply.status === 200) {
      say(root.dataset.textRefused, "refused", data.message);
    } else {
      var message = (data.error && data.error.message) || "";
      say(root.dataset.textUnavailable, "refused", message);
    }
  }

  function failed() { say(root.dataset.textUnavailable, "refused", ""); }

  if (!key) { showPaired(false); return; }
  showPaired(true);

  call(root.dataset.meUrl).then(function (reply) {
    if (reply.status === 401) { lost(); return; }
    if (reply.status !== 200) { return; }
    root.querySelector("[data-door-name]").textContent = reply.data.name;
    faceForm.hidden = !(reply.data.identify && faceCheck);
  });

  // The face: a challenge for this device, a burst answering it, one answer; then the check
  // is ready for the next person.
  var faceCheck = null;
  if (window.LiveFaceCheck && window.LiveFaceCheck.supported) {
    faceCheck = window.LiveFaceCheck.setUp(faceForm, {
      challenge: function () {
        return call(root.dataset.challengeUrl, {}).then(function (reply) {
          if (reply.status === 401) { lost(); }
          if (reply.status !== 200) {
            var problem = reply.data && reply.data.error;
            throw new Error((problem && problem.message) || "");
          }
          return reply.data;
        });
      },
      send: function (frames, nonce) {
        say(root.dataset.textWait, "", "");
        call(root.dataset.identifyUrl, { nonce: nonce, frames: frames })
          .then(show, failed)
          .then(function () { faceCheck.reset(); });
      }
    });
  }

  var codeInput = codeForm.querySelector("[name=code]");
  codeForm.querySelectorAll("[data-key]").forEach(function (button) {
    button.addEventListener("click", function () {
      codeInput.value += button.getAttribute("data-key");
    });
  });
  codeForm.querySelector("[data-key-clear]").addEventListener("click", function () {
    codeInput.value = codeInput.value.slice(0, -1);
  });
  codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!codeInput.value.trim()) { codeInput.focus(); return; }
    var body = { code: codeInput.value };
    var person = codeForm.querySelector("[name=person]").value.trim();
    if (person) { body.person = Number(person); }
    say(root.dataset.textWait, "", "");
    call(root.dataset.codeUrl, body).then(show, failed);
    codeForm.reset();
  });

  cardForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var card = cardForm.querySelector("[name=card]");
    if (!card.value.trim()) { card.focus(); return; }
    say(root.dataset.textWait, "", "");
    call(root.dataset.cardUrl, { card: card.value }).then(show, failed);
    cardForm.reset();
  });

  root.querySelector("[data-fullscreen]").addEventListener("click", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  });
})();
