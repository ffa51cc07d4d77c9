// Subscribes this browser to push messages with the city's VAPID key, for the pages that offer
// browser notifications (the subscribe page, a booking's reminder). Asks the resident's
// permission first; resolves to the subscription as `PushSubscription.toJSON()` gives it, or
// rejects with an Error whose message says why (in the page's language).
(function () {
  "use strict";
  function base64UrlToBytes(text) {
    var padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  window.machiPush = {
    supported: "serviceWorker" in navigator && "PushManager" in window,
    subscribe: async function () {
      var en = document.documentElement.lang === "en";
      var permission = await Notification.requestPermission();
      if (permission !== "granted") {
        throw new Error(en
          ? "notifications were not allowed; allow them in the browser's settings"
          : "通知が許可されませんでした。ブラウザの設定で許可してください");
      }
      var registration = await navigator.serviceWorker.register("/sw.js");
      await navigator.serviceWorker.ready;
      var key = await (await fetch("/api/v1/subscriptions/vapid-key")).json();
      var subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(key.public_key)
      });
      return subscription.toJSON();
    }
  };
})();
