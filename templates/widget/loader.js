// Vitrine loader. The server appends "(data)" to this expression: data.h is
// the gallery markup and data.c its CSS (the JS embed), or {} on the
// /widget page, where the markup is already in the document. Options come
// from data- attributes on the embed, or from the page's query
// (?layout=carousel&columns=4).
// `go generate ./widget` minifies it into loader.min.js (esbuild), which
// the binary embeds, so names here are for the reader; the minifier keeps
// the expression and the property names. The lines between "//#extras"
// and "//#end" serve the gallery's optional details (counts, links): they
// go only into loader.extras.min.js, which galleries showing them get.
(function (data) {
  const doc = document, script = doc.currentScript, pageQuery = new URLSearchParams(location.search),
    one = (parent, name) => parent.querySelector('.vitrine-' + name),
    all = (parent, name) => [...parent.querySelectorAll('.vitrine-' + name)];
  let root = doc, host;
  if (data.h) {
    // Its element: the one just before the script, else one beside it,
    // else (no script known) the page's first; none: made in place.
    const free = '[data-vitrine]:not([data-vitrine-on])', before = script && script.previousElementSibling;
    host = script ? script.vitrineFor || (before && before.matches(free) ? before : script.parentNode.querySelector(':scope>' + free)) : doc.querySelector(free);
    const attribute = name => host && host.getAttribute('data-' + name) || script && script.getAttribute('data-' + name);
    // Options the server applies (another language, caption words): it
    // builds that gallery, so load its script instead, for this element
    // (once: the new script is marked). The language this one already
    // speaks costs nothing.
    const serverQuery = ['language', 'include-words', 'exclude-words'].map(function (name) {
      const value = attribute(name);
      return value && (name != 'language' || data.h.indexOf(' lang="' + value + '"') < 0) ? name.replace('-', '_') + '=' + encodeURIComponent(value) : '';
    }).filter(String).join('&');
    if (serverQuery && script && script.src && !script.hasAttribute('data-vitrine-variant')) {
      const variant = doc.createElement('script');
      [].forEach.call(script.attributes, a => variant.setAttribute(a.name, a.value));
      variant.setAttribute('data-vitrine-variant', '');
      variant.src = script.src.split('?')[0] + '?' + serverQuery;
      host && host.setAttribute('data-vitrine-on', '');
      variant.vitrineFor = host;
      return script.parentNode.insertBefore(variant, script.nextSibling);
    }
    if (!host) {
      host = doc.createElement('div');
      script && script.parentNode ? script.parentNode.insertBefore(host, script) : doc.body.appendChild(host);
    }
    host.setAttribute('data-vitrine-on', '');
    // The shadow root keeps the host page's CSS out and ours in.
    root = host.attachShadow({ mode: 'open' });
    root.innerHTML = '<style>' + data.c + '</style>' + data.h;
  }
  const option = name => host ? host.getAttribute('data-' + name) || script && script.getAttribute('data-' + name) : pageQuery.get(name.replace('-', '_'));
  const gallery = root.querySelector('.vitrine');
  if (!gallery) return;
  // Options: a value the gallery doesn't know leaves the default.
  let count = option('count') | 0;
  const layout = option('layout'), aspect = option('aspect'), columns = option('columns'), columnsMobile = option('columns-mobile'), captions = option('captions');
  if (['grid', 'carousel', 'masonry', 'highlight'].indexOf(layout) >= 0) gallery.dataset.layout = layout;
  if (aspect) gallery.dataset.aspect = { '1:1': '1x1', '4:5': '4x5', original: 'original' }[aspect] || gallery.dataset.aspect;
  if (columns > 0) gallery.style.setProperty('--vitrine-cols', Math.min(columns | 0, 12));
  if (columnsMobile > 0) gallery.style.setProperty('--vitrine-cols-m', Math.min(columnsMobile | 0, 6));
  if (captions) gallery.classList.toggle('vitrine-nocap', captions == 'false');
  //#extras
  // An embed may change how the details the gallery carries show (counts
  // off, on hover or below; the biography or the links on tiles hidden
  // or shown), though not add any the gallery's settings leave out.
  const counts = option('counts'), bio = option('bio'), shopOnTile = host ? option('shop-link-on-tile') : pageQuery.get('shop_link_on_tile');
  if (['off', 'hover', 'below'].indexOf(counts) >= 0) gallery.dataset.counts = counts;
  if (bio == 'true' || bio == 'false') gallery.dataset.bio = bio;
  if (shopOnTile == 'true' || shopOnTile == 'false') gallery.dataset.shopLinkOnTile = shopOnTile;
  //#end
  // A media-type filter here; the caption filters are the server's.
  const types = (option('media-types') || '').toUpperCase().split(/[\s,]+/).filter(String),
    shown = type => !types.length || types.indexOf(type) >= 0;
  all(gallery, 'item').forEach((item, i) => shown(item.dataset.t) && (!count || i < count) || item.remove());
  // Each image asks for the file its tile is drawn at: the server's sizes
  // can only guess the embed's width. Measured once, all read before any
  // is written, before the images load.
  const images = [...gallery.querySelectorAll('.vitrine-item img')], drawn = images.map(img => img.getBoundingClientRect().width);
  images.forEach((img, i) => drawn[i] && (img.sizes = Math.ceil(drawn[i]) + 'px'));
  // The carousel's buttons scroll a page; they hide at either end.
  const grid = one(gallery, 'grid'), prev = one(gallery, 'go-p'), next = one(gallery, 'go-n');
  function updateArrows() {
    if (!prev) return;
    prev.disabled = grid.scrollLeft < 4;
    next.disabled = grid.scrollLeft + grid.clientWidth > grid.scrollWidth - 4;
  }
  if (grid) {
    prev.onclick = () => grid.scrollBy({ left: -grid.clientWidth });
    next.onclick = () => grid.scrollBy({ left: grid.clientWidth });
    grid.onscroll = updateArrows;
    updateArrows();
  }
  const viewer = one(gallery, 'lb');
  if (!viewer) return;
  // The viewer shows slide `slide` of tile `tile`; slides are the tile's
  // data-s: [id, width, height, widths, alt, video].
  const image = one(viewer, 'lb-img'), video = one(viewer, 'lb-vid'), base = gallery.getAttribute('data-base'), links = [];
  let tile = 0, slide = 0, slides, opener;
  function show() {
    const [id, width, height, widths, alt, hasVideo] = slides[slide], dir = base + '/media/' + id + '/';
    image.removeAttribute('src');
    image.srcset = widths.map(w => dir + w + '.jpg ' + w + 'w').join();
    image.sizes = 'min(1080px,100vw)';
    image.width = width; image.height = height; image.alt = alt;
    image.src = dir + widths[widths.length - 1] + '.jpg';
    // A mirrored video plays in place of its thumbnail: muted, and only
    // because the visitor just opened it. Focus leaves it before it
    // hides, or the keys would stop reaching the dialog.
    video.pause();
    hasVideo || root.activeElement != video || viewer.focus();
    image.hidden = !(video.hidden = !hasVideo);
    if (hasVideo) {
      video.poster = image.src;
      video.src = dir + 'video.mp4';
      video.width = width; video.height = height;
      video.setAttribute('aria-label', alt);
      video.muted = true;
      video.play().catch(() => 0);
    }
    const caption = one(links[tile].parentNode, 'cap'), number = new Intl.NumberFormat(gallery.lang || 'en');
    one(viewer, 'lb-cap').textContent = caption ? caption.textContent : '';
    one(viewer, 'lb-n').textContent = slides.length > 1 ? number.format(slide + 1) + ' / ' + number.format(slides.length) : '';
    one(viewer, 'lb-ig').href = links[tile].href;
    //#extras
    // The post's link, when it has one, as the viewer's button.
    const shop = one(links[tile].parentNode, 'shop'), button = one(viewer, 'lb-shop');
    if (button) {
      button.hidden = !shop || shop.hidden;
      shop && (button.href = shop.href, button.textContent = shop.textContent);
    }
    //#end
  }
  function openTile(i, step) {
    tile = (i + links.length) % links.length;
    slides = JSON.parse(links[tile].getAttribute('data-s'));
    slide = step < 0 ? slides.length - 1 : 0;
    show();
  }
  function move(step) {
    slide += step;
    slide < 0 || slide >= slides.length ? openTile(tile + step, step) : show();
  }
  function watch(link) {
    const i = links.push(link) - 1;
    link.addEventListener('click', function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
      e.preventDefault();
      opener = link;
      openTile(i, 1);
      // Focus the dialog itself, not a control that the key which opened
      // it could go on to activate.
      viewer.showModal();
      viewer.focus();
    });
  }
  all(gallery, 'link').forEach(watch);
  one(viewer, 'lb-prev').onclick = () => move(-1);
  one(viewer, 'lb-next').onclick = () => move(1);
  one(viewer, 'lb-x').onclick = () => viewer.close();
  viewer.onclick = e => e.target == viewer && viewer.close();
  viewer.onclose = function () { video.pause(); opener && opener.focus() };
  viewer.onkeydown = function (e) {
    const key = e.key, controls = viewer.querySelectorAll('video:not([hidden]),a[href],button'), first = controls[0], last = controls[controls.length - 1];
    if (key == 'ArrowRight' || key == 'ArrowLeft') move(key == 'ArrowRight' ? 1 : -1);
    // Keep Tab inside the viewer (the modal dialog makes the rest inert;
    // this also keeps focus from leaving for the browser's own UI).
    else if (key == 'Tab' && (root.activeElement == (e.shiftKey ? first : last) || e.shiftKey && root.activeElement == viewer)) (e.shiftKey ? last : first).focus();
    else return;
    e.preventDefault();
  };
  // Load more: one request for /widget.json (with the gallery's caption
  // filter, data-q), then each click shows the next page of it, each tile
  // a copy of the first with the post's data.
  const more = one(gallery, 'more'), model = all(gallery, 'item')[0];
  let queue;
  if (!more || !model) return;
  count = count || all(gallery, 'item').length;
  function showMore() {
    let added = 0;
    while (queue.length && added < count) {
      const post = queue.shift();
      if (!shown(post.type) || root.querySelector('img[src*="/' + post.id + '/"]')) continue;
      const item = model.cloneNode(true), caption = one(item, 'cap'), link = one(item, 'link'), img = item.querySelector('img'), largest = post.images[post.images.length - 1];
      item.dataset.t = post.type;
      caption && (caption.textContent = post.caption);
      link.href = post.permalink;
      link.style.backgroundColor = post.color;
      img.srcset = post.images.map(y => y.url + ' ' + y.width + 'w').join();
      img.src = post.images[0].url;
      img.width = largest.width;
      img.height = largest.height;
      img.alt = post.alt;
      img.loading = 'lazy';
      img.removeAttribute('fetchpriority');
      // The badge copied is the first tile's: keep it only for its type.
      const badge = link.querySelector('svg');
      badge && post.type != model.dataset.t && badge.remove();
      link.setAttribute('data-s', JSON.stringify((post.children.length ? post.children : [post]).map(function (p) {
        const last = p.images[p.images.length - 1];
        return [p.id, last.width, last.height, p.images.map(y => y.width), p.alt, p.video ? 1 : 0];
      })));
      //#extras
      // The copy's counts and link are the first tile's: this post's
      // instead. A withheld count, or no link, shows nothing.
      const counts = one(item, 'counts'), shop = one(item, 'shop'), values = [post.like_count, post.comments_count], number = new Intl.NumberFormat(gallery.lang || 'en');
      if (counts) {
        counts.hidden = values.every(n => n == null);
        counts.querySelectorAll('b').forEach(function (b, i) {
          b.parentNode.hidden = values[i] == null;
          b.textContent = values[i] == null ? '' : number.format(values[i]);
        });
      }
      if (shop) {
        shop.hidden = !post.link;
        post.link && (shop.href = post.link.url, shop.textContent = post.link.label);
      }
      //#end
      grid.appendChild(item);
      watch(link);
      added++;
    }
    more.hidden = !queue.length;
  }
  more.onclick = function () {
    if (queue) return showMore();
    more.disabled = true;
    fetch(base + '/widget.json' + (gallery.dataset.q || '')).then(r => r.json()).then(function (r) {
      queue = r.posts;
      more.disabled = false;
      showMore();
    }, () => { more.disabled = false });
  };
})
