// 郵便番号 → 住所 in place: typing seven digits in a postcode field (or pressing its
// 「住所を検索」 button) fills the address field it names, from /api/v1/postcodes. Without this
// script the button sends the form back and the server fills the address instead.
(function () {
  'use strict';
  var en = document.documentElement.lang === 'en';
  function digits(text) {
    var folded = text.replace(/[０-９]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    });
    var only = folded.replace(/[^0-9]/g, '');
    return only.length === 7 ? only : null;
  }
  function say(input, text) {
    var found = document.getElementById(input.getAttribute('data-found'));
    if (found) found.textContent = text;
  }
  function lookUp(input, fromButton) {
    var code = digits(input.value);
    var address = document.getElementById(input.getAttribute('data-address'));
    if (!address) return;
    if (!code) {
      if (fromButton) say(input, en ? 'Enter a seven-digit postcode, then press “Find the address”.' : '郵便番号を7桁の数字で入力してから「住所を検索」を押してください。');
      return;
    }
    if (input.getAttribute('data-looked-up') === code && !fromButton) return;
    input.setAttribute('data-looked-up', code);
    fetch('/api/v1/postcodes/' + code, { headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (answer) {
        var areas = answer.areas;
        var first = areas[0];
        var fill = areas.length === 1 ? first.address : first.prefecture + first.city;
        var previous = address.value.trim();
        // Only an empty field, or one this script filled, is replaced, and never while the
        // resident is in it: typed text stays.
        var free = previous === '' || address.getAttribute('data-filled') === previous;
        if (free && document.activeElement !== address) {
          address.value = fill;
          address.setAttribute('data-filled', fill);
        }
        if (areas.length === 1) {
          say(input, en ? 'The address was filled in: ' + fill + '. Add the block number and building.' : '住所を入力しました：' + fill + '。続けて番地や建物名を入力してください。');
        } else {
          var towns = areas.map(function (a) { return a.town; }).filter(Boolean);
          say(input, en ? '“' + fill + '” was filled in. The town is one of: ' + towns.join(', ') + '.' : '「' + fill + '」を入力しました。町名は次のいずれかです：' + towns.join('、') + '。');
        }
      })
      .catch(function () {
        say(input, en ? 'No address was found for that postcode. Please type the address.' : 'その郵便番号の住所は見つかりませんでした。住所を入力してください。');
      });
  }
  document.querySelectorAll('input[data-address]').forEach(function (input) {
    input.addEventListener('input', function () { lookUp(input, false); });
  });
  document.querySelectorAll('button[data-lookup]').forEach(function (button) {
    button.addEventListener('click', function (event) {
      var input = document.getElementById(button.getAttribute('data-lookup'));
      if (!input) return;
      event.preventDefault();
      lookUp(input, true);
    });
  });
})();
