// tally docs: progressive enhancements. Every page reads fine without this script; it adds the
// SQL dialect switcher and the search box's results (MiniSearch over an index loaded on first use).
(function () {
  'use strict';
  var body = document.body;
  var root = body.getAttribute('data-root') || '';

  // ----- SQL dialect switcher: the dialect sections become tabs -----
  function setupSwitcher(box) {
    var panels = Array.prototype.slice.call(box.querySelectorAll('section.dialect'));
    if (panels.length < 2) return;
    var list = document.createElement('div');
    list.setAttribute('role', 'tablist');
    list.setAttribute('aria-label', 'SQL dialect');
    list.className = 'tabs';
    var tabs = panels.map(function (panel, i) {
      var heading = panel.querySelector('.dialect-name');
      var name = heading ? heading.textContent : 'dialect ' + i;
      var tab = document.createElement('button');
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.id = panel.id + '-tab';
      tab.setAttribute('aria-controls', panel.id);
      tab.textContent = name;
      panel.setAttribute('role', 'tabpanel');
      panel.setAttribute('aria-labelledby', tab.id);
      if (heading) heading.classList.add('visually-hidden');
      tab.addEventListener('click', function () { select(i, true); });
      tab.addEventListener('keydown', function (e) {
        var j = null;
        if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
        if (e.key === 'ArrowLeft') j = (i + tabs.length - 1) % tabs.length;
        if (e.key === 'Home') j = 0;
        if (e.key === 'End') j = tabs.length - 1;
        if (j !== null) { e.preventDefault(); select(j, true); tabs[j].focus(); }
      });
      list.appendChild(tab);
      return tab;
    });
    function select(i, remember) {
      tabs.forEach(function (t, k) {
        t.setAttribute('aria-selected', k === i ? 'true' : 'false');
        t.tabIndex = k === i ? 0 : -1;
        panels[k].hidden = k !== i;
      });
      if (remember) {
        try { localStorage.setItem('tally-dialect', tabs[i].textContent); } catch (e) { /* file:// may refuse */ }
      }
    }
    box.insertBefore(list, box.firstChild);
    var start = 0;
    try {
      var saved = localStorage.getItem('tally-dialect');
      tabs.forEach(function (t, k) { if (t.textContent === saved) start = k; });
    } catch (e) { /* no storage */ }
    select(start, false);
  }
  Array.prototype.forEach.call(document.querySelectorAll('[data-switcher]'), setupSwitcher);

  // ----- search -----
  var input = document.getElementById('search-input');
  var results = document.getElementById('search-results');
  if (!input || !results) return;
  var chunks = parseInt(body.getAttribute('data-search-chunks') || '0', 10);
  var docs = [];
  var index = null;
  var loading = null;
  window.tallySearchChunk = function (records) { docs = docs.concat(records); };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }
  function load() {
    if (loading) return loading;
    var parts = [loadScript(root + 'assets/minisearch.min.js')];
    for (var i = 0; i < chunks; i++) parts.push(loadScript(root + 'assets/search/index-' + i + '.js'));
    loading = Promise.all(parts).then(function () {
      index = new MiniSearch({
        fields: ['name', 'label', 'description', 'owners', 'tags'],
        storeFields: ['kind', 'name', 'label', 'url', 'description'],
        tokenize: function (text) { return text.split(/[\s\-_.,;:()\/'"`]+/u).filter(Boolean); },
        searchOptions: { prefix: true, fuzzy: 0.15, boost: { name: 3, label: 3, owners: 1.5 } }
      });
      index.addAll(docs);
      return index;
    });
    return loading;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function show(query) {
    if (!query.trim()) { results.hidden = true; clear(results); return; }
    load().then(function (ix) {
      if (input.value !== query) return;
      var found = ix.search(query).slice(0, 12);
      clear(results);
      var status = document.createElement('p');
      status.className = 'search-status';
      status.textContent = found.length ? found.length + (found.length === 12 ? '+' : '') + ' result(s)' : 'No result for "' + query + '"';
      results.appendChild(status);
      if (found.length) {
        var ul = document.createElement('ul');
        found.forEach(function (r) {
          var li = document.createElement('li');
          var a = document.createElement('a');
          a.href = root + r.url;
          var title = document.createElement('span');
          title.className = 'result-title';
          title.textContent = r.label || r.name;
          var kind = document.createElement('span');
          kind.className = 'result-kind';
          kind.textContent = r.kind + (r.label ? ' · ' + r.name : '');
          var text = document.createElement('span');
          text.className = 'result-text';
          var d = r.description || '';
          text.textContent = d.length > 140 ? d.slice(0, 139) + '…' : d;
          a.appendChild(title); a.appendChild(kind); a.appendChild(text);
          li.appendChild(a);
          ul.appendChild(li);
        });
        results.appendChild(ul);
      }
      results.hidden = false;
    }).catch(function (e) {
      clear(results);
      var p = document.createElement('p');
      p.className = 'search-status';
      p.textContent = 'Search is unavailable: ' + e.message;
      results.appendChild(p);
      results.hidden = false;
    });
  }
  input.addEventListener('focus', function () { load().catch(function () {}); });
  input.addEventListener('input', function () { show(input.value); });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { input.value = ''; show(''); }
    if (e.key === 'ArrowDown') {
      var first = results.querySelector('a');
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
  results.addEventListener('keydown', function (e) {
    var links = Array.prototype.slice.call(results.querySelectorAll('a'));
    var i = links.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === 'ArrowDown' && i + 1 < links.length) { e.preventDefault(); links[i + 1].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i === 0 ? input : links[i - 1]).focus(); }
    if (e.key === 'Escape') { input.focus(); input.value = ''; show(''); }
  });
  input.form.addEventListener('submit', function (e) {
    e.preventDefault();
    load().then(function (ix) {
      var r = ix.search(input.value)[0];
      if (r) location.href = root + r.url; else show(input.value);
    });
  });
  // The list of metrics is where the search form goes without JavaScript: honour ?q= there.
  var q = new URLSearchParams(location.search).get('q');
  if (q) { input.value = q; show(q); }
})();
