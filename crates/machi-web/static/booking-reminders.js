// A booking's day-before reminder in this browser's notifications. The booking's page works
// without this script (the reminder comes by e-mail); with it (and push.js before it), a
// browser that can take push messages shows one more button.
(function () {
  "use strict";
  var section = document.getElementById("reminder-push");
  var button = document.getElementById("reminder-push-button");
  var status = document.getElementById("reminder-push-status");
  if (!section || !window.machiPush || !window.machiPush.supported) return;
  section.hidden = false;
  var en = document.documentElement.lang === "en";
  function say(ja, english) { status.textContent = en ? english : ja; }

  button.addEventListener("click", async function () {
    try {
      say("登録しています…", "Turning on…");
      var body = await window.machiPush.subscribe();
      body.cancel_code = section.dataset.code;
      var response = await fetch(
        "/api/v1/bookings/" + encodeURIComponent(section.dataset.number) + "/reminders", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body)
        });
      if (!response.ok) {
        var answer = await response.json().catch(function () { return {}; });
        say("登録できませんでした: " + (answer.detail || response.status),
            "Could not turn it on: " + (answer.detail || response.status));
        return;
      }
      say("前日のお知らせを、このブラウザにもお送りします。",
          "The reminder will come to this browser too.");
      button.hidden = true;
    } catch (error) {
      say("このブラウザでは通知を登録できませんでした（" + error.message + "）。",
          "This browser could not turn notifications on (" + error.message + ").");
    }
  });
})();
