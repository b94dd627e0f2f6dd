// Vitrine loader. The server appends "(data)" to this expression: data.h is
// the gallery markup and data.c its CSS (the JS embed), or {} on the
// /widget page, where the markup is already in the document. Options come
// from data- attributes on the embed, or from the page's query
// (?layout=carousel&columns=4).
// Whole-line comments and indentation are stripped when the snapshot is
// built.
(function (d) {
  var D = document, s = D.currentScript, r = D, t, g, q, Z, F, p = 0, j = 0, T = [], W, N,
    $ = (e, c) => e.querySelector('.vitrine-' + c),
    A = (e, c) => [...e.querySelectorAll('.vitrine-' + c)],
    U = new URLSearchParams(location.search);
  if (d.h) {
    // Its element: the one just before the script, else one beside it,
    // else (no script known) the page's first; none: made in place.
    g = '[data-vitrine]:not([data-vitrine-on])';
    t = s ? s.vitrineFor || (s.previousElementSibling && s.previousElementSibling.matches(g) ? s.previousElementSibling : s.parentNode.querySelector(':scope>' + g)) : D.querySelector(g);
    // Another language than this one: the server has it prepared; load
    // that script instead, for this element (once: it is marked).
    W = t && t.getAttribute('data-language') || s && s.getAttribute('data-language');
    if (W && s && s.src && !s.hasAttribute('data-vitrine-lang') && d.h.indexOf(' lang="' + W + '"') < 0) {
      N = D.createElement('script');
      [].forEach.call(s.attributes, a => N.setAttribute(a.name, a.value));
      N.setAttribute('data-vitrine-lang', '');
      N.src = s.src.split('?')[0] + '?language=' + encodeURIComponent(W);
      t && t.setAttribute('data-vitrine-on', '');
      N.vitrineFor = t;
      return s.parentNode.insertBefore(N, s.nextSibling);
    }
    if (!t) {
      t = D.createElement('div');
      s && s.parentNode ? s.parentNode.insertBefore(t, s) : D.body.appendChild(t);
    }
    t.setAttribute('data-vitrine-on', '');
    // The shadow root keeps the host page's CSS out and ours in.
    r = t.attachShadow({ mode: 'open' });
    r.innerHTML = '<style>' + d.c + '</style>' + d.h;
  }
  q = k => t ? t.getAttribute('data-' + k) || s && s.getAttribute('data-' + k) : U.get(k.replace('-', '_'));
  g = r.querySelector('.vitrine');
  if (!g) return;
  // Options: a value the gallery doesn't know leaves the default.
  var o = function (k, l) { var v = q(k); l.indexOf(v) < 0 || (g.dataset[k] = v) }, n = q('count') | 0;
  o('layout', ['grid', 'carousel', 'masonry', 'highlight']);
  if (q('aspect')) g.dataset.aspect = { '1:1': '1x1', '4:5': '4x5', original: 'original' }[q('aspect')] || g.dataset.aspect;
  if (q('columns') > 0) g.style.setProperty('--vitrine-cols', Math.min(q('columns') | 0, 12));
  if (q('columns-mobile') > 0) g.style.setProperty('--vitrine-cols-m', Math.min(q('columns-mobile') | 0, 6));
  if (q('captions')) g.classList.toggle('vitrine-nocap', q('captions') == 'false');
  // A media-type filter (the caption filters are the config's).
  var Y = (q('media-types') || '').toUpperCase().split(/[\s,]+/).filter(String),
    K = y => !Y.length || Y.indexOf(y) >= 0;
  A(g, 'item').forEach((l, i) => K(l.dataset.t) && (!n || i < n) || l.remove());
  // The carousel's buttons scroll a page; they hide at either end.
  var G = $(g, 'grid'), P = $(g, 'go-p'), Q = $(g, 'go-n');
  function B() {
    if (!P) return;
    P.disabled = G.scrollLeft < 4;
    Q.disabled = G.scrollLeft + G.clientWidth > G.scrollWidth - 4;
  }
  if (G) {
    P.onclick = function () { G.scrollBy({ left: -G.clientWidth }) };
    Q.onclick = function () { G.scrollBy({ left: G.clientWidth }) };
    G.onscroll = B;
    B();
  }
  var L = $(g, 'lb');
  if (!L) return;
  var M0 = $(L, 'lb-img'), VE = $(L, 'lb-vid'), b = g.getAttribute('data-base');
  function S() {
    var m = Z[j], u = b + '/media/' + m[0] + '/', w = m[3];
    M0.removeAttribute('src');
    M0.srcset = w.map(x => u + x + '.jpg ' + x + 'w').join();
    M0.sizes = 'min(1080px,100vw)';
    M0.width = m[1]; M0.height = m[2]; M0.alt = m[4];
    M0.src = u + w[w.length - 1] + '.jpg';
    // A mirrored video (m[5]) plays in place of its thumbnail: muted, and
    // only because the visitor just opened it. Focus leaves it before it
    // hides, or the keys would stop reaching the dialog.
    VE.pause();
    m[5] || r.activeElement != VE || L.focus();
    M0.hidden = !(VE.hidden = !m[5]);
    if (m[5]) {
      VE.poster = M0.src;
      VE.src = u + 'video.mp4';
      VE.width = m[1]; VE.height = m[2];
      VE.setAttribute('aria-label', m[4]);
      VE.muted = true;
      VE.play().catch(() => 0);
    }
    m = $(T[p].parentNode, 'cap');
    $(L, 'lb-cap').textContent = m ? m.textContent : '';
    N = new Intl.NumberFormat(g.lang || 'en');
    $(L, 'lb-n').textContent = Z.length > 1 ? N.format(j + 1) + ' / ' + N.format(Z.length) : '';
    $(L, 'lb-ig').href = T[p].href;
  }
  function O(i, k) {
    p = (i + T.length) % T.length;
    Z = JSON.parse(T[p].getAttribute('data-s'));
    j = k < 0 ? Z.length - 1 : 0;
    S();
  }
  function M(k) {
    j += k;
    j < 0 || j >= Z.length ? O(p + k, k) : S();
  }
  function V(e) {
    var i = T.push(e) - 1;
    e.addEventListener('click', function (v) {
      if (v.ctrlKey || v.metaKey || v.shiftKey || v.button) return;
      v.preventDefault();
      F = e;
      O(i, 1);
      // Focus the dialog itself, not a control that the key which opened
      // it could go on to activate.
      L.showModal();
      L.focus();
    });
  }
  A(g, 'link').forEach(V);
  $(L, 'lb-prev').onclick = () => M(-1);
  $(L, 'lb-next').onclick = () => M(1);
  $(L, 'lb-x').onclick = () => L.close();
  L.onclick = v => v.target == L && L.close();
  L.onclose = function () { VE.pause(); F && F.focus() };
  L.onkeydown = function (v) {
    var k = v.key, f = L.querySelectorAll('video:not([hidden]),a[href],button'), a = f[0], z = f[f.length - 1];
    if (k == 'ArrowRight' || k == 'ArrowLeft') M(k == 'ArrowRight' ? 1 : -1);
    // Keep Tab inside the viewer (the modal dialog makes the rest inert;
    // this also keeps focus from leaving for the browser's own UI).
    else if (k == 'Tab' && (r.activeElement == (v.shiftKey ? a : z) || v.shiftKey && r.activeElement == L)) (v.shiftKey ? z : a).focus();
    else return;
    v.preventDefault();
  };
  // Load more: one request for /widget.json, then each click shows the
  // next page of it, each tile a copy of the first with the post's data.
  var C = $(g, 'more'), J, R = A(g, 'item')[0];
  if (!C || !R) return;
  n = n || A(g, 'item').length;
  function Y2() {
    var k = 0, l, e, m, x, c;
    while (J.length && k < n) {
      m = J.shift();
      if (!K(m.type) || r.querySelector('img[src*="/' + m.id + '/"]')) continue;
      l = R.cloneNode(true);
      l.dataset.t = m.type;
      c = $(l, 'cap');
      c && (c.textContent = m.caption);
      e = $(l, 'link');
      e.href = m.permalink;
      e.style.backgroundColor = m.color;
      x = l.querySelector('img');
      x.srcset = m.images.map(y => y.url + ' ' + y.width + 'w').join();
      x.src = m.images[0].url;
      x.width = m.images[m.images.length - 1].width;
      x.height = m.images[m.images.length - 1].height;
      x.alt = m.alt;
      // The badge copied is the first tile's: keep it only for its type.
      x = e.querySelector('svg');
      x && m.type != R.dataset.t && x.remove();
      e.setAttribute('data-s', JSON.stringify((m.children.length ? m.children : [m]).map(function (y) {
        var z = y.images[y.images.length - 1];
        return [y.id, z.width, z.height, y.images.map(w => w.width), y.alt, y.video ? 1 : 0];
      })));
      G.appendChild(l);
      V(e);
      k++;
    }
    C.hidden = !J.length;
  }
  C.onclick = function () {
    if (J) return Y2();
    C.disabled = true;
    fetch(b + '/widget.json').then(v => v.json()).then(function (v) {
      J = v.posts;
      C.disabled = false;
      Y2();
    }, () => { C.disabled = false });
  };
})
