// Vitrine loader. The server appends "(data)" to this expression: data.h is
// the gallery markup and data.c its CSS (the JS embed), or {} on the /widget
// page, where the markup is already in the document. Whole-line comments and
// indentation are stripped when the snapshot is built.
(function (d) {
  var D = document, s = D.currentScript, r = D, t, g, q, Z, F, p = 0, j = 0,
    $ = function (e, c) { return e.querySelector('.vitrine-' + c) };
  if (d.h) {
    t = D.querySelector('[data-vitrine]:not([data-vitrine-on])');
    if (!t) {
      t = D.createElement('div');
      s && s.parentNode ? s.parentNode.insertBefore(t, s) : D.body.appendChild(t);
    }
    t.setAttribute('data-vitrine-on', '');
    // The shadow root keeps the host page's CSS out and ours in.
    r = t.attachShadow({ mode: 'open' });
    r.innerHTML = '<style>' + d.c + '</style>' + d.h;
    q = function (k) { return t.getAttribute('data-' + k) || s && s.getAttribute('data-' + k) };
    g = r.querySelector('.vitrine');
    if (q('columns') > 0) g.style.setProperty('--vitrine-cols', q('columns') | 0);
    if (q('captions')) g.classList.toggle('vitrine-nocap', q('captions') == 'false');
    if (q('count') > 0) [].slice.call(r.querySelectorAll('.vitrine-item'), q('count')).forEach(function (e) { e.remove() });
  }
  var L = $(r, 'lb'), T = [].slice.call(r.querySelectorAll('.vitrine-link'));
  if (!L) return;
  var I = $(L, 'lb-img'), V = $(L, 'lb-vid'), b = L.parentNode.getAttribute('data-base');
  function S() {
    var m = Z[j], u = b + '/media/' + m[0] + '/', w = m[3];
    I.removeAttribute('src');
    I.srcset = w.map(function (x) { return u + x + '.jpg ' + x + 'w' }).join();
    I.sizes = 'min(1080px,100vw)';
    I.width = m[1]; I.height = m[2]; I.alt = m[4];
    I.src = u + w[w.length - 1] + '.jpg';
    // A mirrored video (m[5]) plays in place of its thumbnail: muted, and
    // only because the visitor just opened it. Focus leaves it before it
    // hides, or the keys would stop reaching the dialog.
    V.pause();
    m[5] || r.activeElement != V || L.focus();
    I.hidden = !(V.hidden = !m[5]);
    if (m[5]) {
      V.poster = I.src;
      V.src = u + 'video.mp4';
      V.width = m[1]; V.height = m[2];
      V.setAttribute('aria-label', m[4]);
      V.muted = true;
      V.play().catch(function () {});
    }
    m = $(T[p].parentNode, 'cap');
    $(L, 'lb-cap').textContent = m ? m.textContent : '';
    $(L, 'lb-n').textContent = Z.length > 1 ? j + 1 + ' / ' + Z.length : '';
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
  T.forEach(function (e, i) {
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
  });
  $(L, 'lb-prev').onclick = function () { M(-1) };
  $(L, 'lb-next').onclick = function () { M(1) };
  $(L, 'lb-x').onclick = function () { L.close() };
  L.onclick = function (v) { v.target == L && L.close() };
  L.onclose = function () { V.pause(); F && F.focus() };
  L.onkeydown = function (v) {
    var k = v.key, f = L.querySelectorAll('video:not([hidden]),a[href],button'), a = f[0], z = f[f.length - 1];
    if (k == 'ArrowRight' || k == 'ArrowLeft') M(k == 'ArrowRight' ? 1 : -1);
    // Keep Tab inside the viewer (the modal dialog makes the rest inert;
    // this also keeps focus from leaving for the browser's own UI).
    else if (k == 'Tab' && (r.activeElement == (v.shiftKey ? a : z) || v.shiftKey && r.activeElement == L)) (v.shiftKey ? z : a).focus();
    else return;
    v.preventDefault();
  };
})
