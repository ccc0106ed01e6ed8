// The web chat page: talks to Rasa's `webchat` socket.io channel. The server issues the
// session (an id and its token, also kept in an HttpOnly cookie), so a reload (or a server
// restart) continues the same conversation; the socket joins it only with the token.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  var T = JSON.parse(root.dataset.texts);
  var sessionId = root.dataset.session;
  var token = root.dataset.token;
  var log = document.getElementById("log");
  var status = document.getElementById("status");
  var typing = document.getElementById("typing");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var typingTimer = null;
  var historyLoaded = false;

  function scroll() { log.scrollTop = log.scrollHeight; }

  function add(from, text, buttons) {
    var item = document.createElement("li");
    item.className = "message " + from;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text || "";
    item.appendChild(bubble);
    if (buttons && buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", function () {
          row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          send(b.payload, b.title);
        });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    scroll();
  }

  function setStatus(key) {
    status.textContent = T[key];
    status.dataset.state = key;
  }

  function showTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typing.hidden = true; }, 20000);
    scroll();
  }

  function hideTyping() { typing.hidden = true; clearTimeout(typingTimer); }

  function loadHistory() {
    fetch("/chat/history/" + encodeURIComponent(sessionId), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { turns: [] }; })
      .catch(function () { return { turns: [] }; })
      .then(function (data) {
        (data.turns || []).forEach(function (t) { add(t.from, t.text, t.from === "bot" ? t.buttons : []); });
        if (!log.children.length) add("bot", T.welcome, []);
      });
  }

  var socket = io(root.dataset.socketUrl, {
    transports: ["websocket"], reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 3000,
  });
  socket.on("connect", function () {
    setStatus("online");
    socket.emit("session_request", { session_id: sessionId, token: token });  // (re)joins the conversation
  });
  socket.on("disconnect", function () { setStatus("offline"); });
  socket.io.on("reconnect_attempt", function () { setStatus("offline"); });
  socket.on("session_confirm", function (id) {
    root.dataset.sessionId = id;
    sessionStorage.removeItem("fjordbil-chat-reloaded");
    if (!historyLoaded) { historyLoaded = true; loadHistory(); }
  });
  socket.on("bot_uttered", function (message) {
    hideTyping();
    add("bot", message.text || "", message.quick_replies || message.buttons || []);
  });
  socket.on("error_message", function (error) {
    hideTyping();
    // A session the socket no longer accepts (a new secret): reload once for a new one.
    if (error && /session/.test(error.error || "") && !sessionStorage.getItem("fjordbil-chat-reloaded")) {
      sessionStorage.setItem("fjordbil-chat-reloaded", "1");
      location.reload();
    }
  });

  function send(text, display) {
    if (!text || !text.trim()) return;
    add("user", display || text, []);
    socket.emit("user_uttered", {
      message: text, session_id: sessionId, metadata: display ? { display: display } : {},
    });
    showTyping();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
    input.value = "";
    input.focus();
  });
})();
