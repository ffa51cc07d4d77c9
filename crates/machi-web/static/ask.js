// The answer desk as a chat: a question is sent to /api/v1/ask and its answers are added to
// the conversation (a live log) without leaving the page, focus staying in the question box.
// Without this script the form opens /ask?q=… and the server shows the same answers.
(function () {
  'use strict';
  var form = document.getElementById('ask-form');
  var log = document.getElementById('chat-log');
  var input = document.getElementById('ask-q');
  var status = document.getElementById('ask-status');
  if (!form || !log || !input || !window.fetch) return;
  var en = document.documentElement.lang === 'en';
  var text = en ? {
    asked: 'You asked: ',
    didYouMean: 'Did you mean: ',
    helpfulQuestion: 'Was this answer helpful?',
    yes: 'Yes',
    no: 'No',
    waiting: 'Looking for answers…',
    failed: 'The question could not be sent. Please try again.',
    none: 'We found no answer. Your question has been passed to the city\'s staff, who will add an answer to the FAQ.',
    faq: 'All frequently asked questions',
    procedures: 'Find a procedure'
  } : {
    asked: '質問：',
    didYouMean: 'もしかして：',
    helpfulQuestion: 'この回答は役に立ちましたか？',
    yes: 'はい',
    no: 'いいえ',
    waiting: '回答をさがしています…',
    failed: '質問を送れませんでした。もう一度お試しください。',
    none: 'お答えできるものが見つかりませんでした。この質問は市の担当者に届けましたので、よくある質問に答えを加えます。',
    faq: 'よくある質問の一覧',
    procedures: '手続をさがす'
  };

  function element(name, className, content) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (content) node.textContent = content;
    return node;
  }
  function link(href, label) {
    var a = element('a', '', label);
    a.href = href;
    return a;
  }

  // The same form as the server's page: a plain post that returns to this question.
  function feedbackForm(answer, question) {
    var form = element('form', 'feedback');
    form.method = 'post';
    form.action = '/faq/' + encodeURIComponent(answer.id) + '/feedback';
    var back = element('input');
    back.type = 'hidden';
    back.name = 'back';
    back.value = '/ask?q=' + encodeURIComponent(question);
    form.appendChild(back);
    var fieldset = element('fieldset');
    fieldset.appendChild(element('legend', '', text.helpfulQuestion));
    [['yes', text.yes], ['no', text.no]].forEach(function (choice) {
      var button = element('button', 'secondary', choice[1]);
      button.type = 'submit';
      button.name = 'helpful';
      button.value = choice[0];
      fieldset.appendChild(button);
    });
    form.appendChild(fieldset);
    return form;
  }

  function answerItem(answer, question) {
    var item = element('li', 'answer');
    item.appendChild(element('h3', '', answer.title));
    if (answer.answer_html) {
      // Markdown the city wrote, rendered and sanitised by the server (as on /faq).
      var body = element('div', 'notice-body');
      body.innerHTML = answer.answer_html;
      item.appendChild(body);
    }
    if (answer.facts.length) {
      var facts = element('dl', 'facts');
      answer.facts.forEach(function (fact) {
        facts.appendChild(element('dt', '', fact.label));
        facts.appendChild(element('dd', '', fact.value));
      });
      item.appendChild(facts);
    }
    var links = element('ul', 'answer-links');
    answer.links.forEach(function (l) {
      var li = element('li');
      li.appendChild(link(l.href, l.label));
      links.appendChild(li);
    });
    item.appendChild(links);
    if (answer.kind === 'faq') item.appendChild(feedbackForm(answer, question));
    return item;
  }

  // "Did you mean": a link to the corrected question, asked in place when followed.
  function suggestion(corrected) {
    var p = element('p', 'suggestion', text.didYouMean);
    var a = link('/ask?q=' + encodeURIComponent(corrected), corrected);
    a.addEventListener('click', function (event) {
      event.preventDefault();
      input.value = corrected;
      ask(corrected);
    });
    p.appendChild(a);
    return p;
  }

  function turn(reply) {
    var section = element('section', 'chat-turn');
    var heading = element('h2', 'chat-question');
    heading.appendChild(element('span', 'chat-who', text.asked));
    heading.appendChild(document.createTextNode(reply.question));
    section.appendChild(heading);
    if (reply.suggestion) section.appendChild(suggestion(reply.suggestion));
    if (reply.answered) {
      var list = element('ol', 'answers-list');
      reply.answers.forEach(function (answer) { list.appendChild(answerItem(answer, reply.question)); });
      section.appendChild(list);
    } else {
      var callout = element('div', 'callout');
      callout.appendChild(element('p', '', text.none));
      var more = element('p');
      more.appendChild(link('/faq', text.faq));
      more.appendChild(document.createTextNode(' ・ '));
      more.appendChild(link('/procedures', text.procedures));
      callout.appendChild(more);
      section.appendChild(callout);
    }
    return section;
  }

  form.addEventListener('submit', function (event) {
    var question = input.value.trim();
    if (!question) return; // the server's page says what to type
    event.preventDefault();
    ask(question);
  });

  function ask(question) {
    status.textContent = text.waiting;
    fetch('/api/v1/ask?q=' + encodeURIComponent(question), { headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (reply) {
        status.textContent = '';
        var added = turn(reply);
        log.appendChild(added);
        input.value = '';
        history.replaceState(null, '', '/ask?q=' + encodeURIComponent(question));
        added.scrollIntoView({ block: 'start' });
        input.focus({ preventScroll: true });
      })
      .catch(function () {
        status.textContent = text.failed;
      });
  }
})();
