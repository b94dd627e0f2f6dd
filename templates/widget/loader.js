// Vitrine loader. The server appends "(data)" to this expression: data.h is
// the gallery markup and data.s the URL of its stylesheet (the JS embed),
// or {} on the /widget page, where the markup is already in the document.
// Options come from data- attributes on the embed, or from the page's
// query (?layout=carousel&columns=4).
// `go generate ./widget` minifies it into loader.min.js (esbuild), which
// the binary embeds, so names here are for the reader; the minifier keeps
// the expression and the property names. The lines between "//#extras"
// and "//#end" serve the gallery's optional details (counts, links): they
// go only into loader.extras.min.js, which galleries showing them get.
(function (data) {
  const doc = document, script = doc.currentScript, pageQuery = new URLSearchParams(location.search),
    one = (parent, name) => parent.querySelector('.vitrine-' + name),
    all = (parent, name) => [...parent.querySelectorAll('.vitrine-' + name)],
    // An embed's option: its element's data- attribute, else its script's.
    attribute = (host, own, name) => host.getAttribute('data-' + name) || own && own.getAttribute('data-' + name);
  // BEGIN options: written by go generate from the options table
  // (appearance.Options): the data- attributes of the options the server
  // applies, and the values the browser's choices and numbers may take.
  const serverOptions = ["captions","language","include-words","exclude-words"],
    choices = {layout:["grid","carousel","masonry","highlight"],aspect:["1:1","4:5","original"],theme:["light","dark","auto"]},
    ranges = {columns:[1,12],"columns-mobile":[1,6],gap:[0,32],radius:[0,32],count:[1,1000]};
  // END options
  if (!data.h) {
    // The /widget page. Framed, it tells its parent its height whenever
    // it changes (Load more, a narrower frame); the iframe snippet's
    // listener sizes the frame that sent it, so it never scrolls inside.
    draw(doc);
    parent != window && new ResizeObserver(() => parent.postMessage({ vitrineHeight: Math.ceil(doc.documentElement.getBoundingClientRect().height) }, '*')).observe(doc.documentElement);
    return;
  }
  const free = '[data-vitrine]:not([data-vitrine-on])', scriptURL = script && script.src.split('?')[0];
  // render paints this script's gallery into host, unless the host asks
  // for what the server applies (another language, captions, caption
  // words): then it loads the script built with those, for that host.
  // own is the script that came with host (its attributes count too);
  // none for a host found later, which these data serve as they are.
  function render(host, own) {
    const mine = own && own.vitrineFor == host;
    if (host.hasAttribute('data-vitrine-on') && !mine) return;
    // Claimed: no other script takes it; its space stays reserved until
    // the gallery is in (data-vitrine-on="").
    host.setAttribute('data-vitrine-on', 'loading');
    const query = serverOptions.map(name => {
        const value = attribute(host, own, name);
        // What these data already carry needs no other script; the
        // language they speak costs nothing, nor captions they have.
        return value && (name == 'language' ? data.h.indexOf(' lang="' + value + '"') < 0 : name != 'captions' || value == 'true' && data.h.indexOf('vitrine-nocap') > 0) ? name.replace(/-/g, '_') + '=' + encodeURIComponent(value) : '';
      }).filter(String).join('&');
    if (scriptURL && !mine && query) {
      const load = tries => {
        const variant = doc.createElement('script');
        own && [].forEach.call(own.attributes, a => variant.setAttribute(a.name, a.value));
        variant.src = scriptURL + '?' + query;
        variant.vitrineFor = host;
        // A server over its budget for new filters says come back (503):
        // a few more times, each later.
        variant.onerror = () => tries < 4 && setTimeout(() => (variant.remove(), load(tries + 1)), 1000 << tries);
        doc.head.appendChild(variant);
      };
      return load(0);
    }
    // The shadow root keeps the host page's CSS out and ours in; the
    // host's --vitrine-* properties inherit through it, ::part() reaches
    // the parts. Its stylesheet is the one the snippet links, from the
    // cache; the gallery goes in once it applies.
    const root = host.attachShadow({ mode: 'open' }), sheet = root.appendChild(doc.createElement('link')), markup = doc.createElement('template');
    sheet.rel = 'stylesheet';
    sheet.href = data.s;
    // Once: moving the element loads the stylesheet again.
    sheet.onload = function () {
      sheet.onload = null;
      markup.innerHTML = data.h;
      root.appendChild(markup.content);
      host.setAttribute('data-vitrine-on', '');
      draw(root, host, own);
    };
  }
  if (script) {
    script.vitrineRan = 1;
    // Its element: the one just before the script, else a free one beside
    // it; none: one made in place (not in the head).
    const before = script.previousElementSibling;
    let host = script.vitrineFor || (before && before.matches('[data-vitrine]') ? before : script.parentNode.querySelector(':scope>' + free));
    if (!host && script.parentNode != doc.head) {
      host = script.parentNode.insertBefore(doc.createElement('div'), script);
      host.setAttribute('data-vitrine', '');
    }
    host && render(host, script);
  }
  // Pages that add a gallery later (single-page apps): the first script
  // renders every element [data-vitrine] that appears once the document is
  // parsed, and Vitrine.render(element) renders one. An element whose own
  // script is still to run is left to it.
  if (!window.Vitrine) {
    window.Vitrine = { render: host => render(host) };
    const watchPage = () => {
      doc.querySelectorAll(free).forEach(host => {
        const next = host.nextElementSibling;
        next && next.src && next.src.split('?')[0] == scriptURL && !next.vitrineRan || render(host);
      });
      new MutationObserver(records => records.forEach(record => record.addedNodes.forEach(node => node.querySelectorAll && [node, ...node.querySelectorAll(free)].forEach(host => host.matches(free) && render(host))))).observe(doc.documentElement, { childList: true, subtree: true });
    };
    doc.readyState == 'loading' ? doc.addEventListener('DOMContentLoaded', watchPage) : watchPage();
  }

  // draw sets up a gallery's markup in root: its options, the carousel's
  // buttons, the lightbox, Load more.
  function draw(root, host, own) {
    const option = name => host ? attribute(host, own, name) : pageQuery.get(name.replace(/-/g, '_')),
      // An option's value when the table allows it; a value the gallery
      // doesn't know leaves the default.
      allowed = name => {
        const value = option(name), range = ranges[name];
        return value && (range ? value >= range[0] && value <= range[1] && value % 1 == 0 : choices[name].indexOf(value) >= 0) ? value : '';
      },
      gallery = root.querySelector('.vitrine');
    if (!gallery) return;
    let count = allowed('count') | 0;
    const layout = allowed('layout'), aspect = allowed('aspect'), theme = allowed('theme');
    layout && (gallery.dataset.layout = layout);
    aspect && (gallery.dataset.aspect = aspect.replace(':', 'x'));
    theme && (gallery.dataset.theme = theme);
    // The rest are the custom properties and classes the CSS reads, set
    // on the gallery itself: an embed's own option wins over the page's.
    ['columns', 'columns-mobile', 'gap', 'radius'].forEach((name, i) => {
      const value = allowed(name);
      value && gallery.style.setProperty('--vitrine-' + name, value + (i > 1 ? 'px' : ''));
    });
    // A background of its own makes the gallery a box, kept off its edges
    // by its padding (the space widget.css keeps counts it too).
    ['accent', 'text', 'background'].forEach(name => {
      const value = option(name + '-color');
      /^#[\da-f]{6}$/i.test(value) && (gallery.style.setProperty('--vitrine-' + name, value), name == 'background' && gallery.classList.add('vitrine-boxed'));
    });
    [['captions', 'nocap'], ['header', 'nohead'], ['follow-button', 'nofollow']].forEach(([name, off]) => {
      const value = option(name);
      value && gallery.classList.toggle('vitrine-' + off, value == 'false');
    });
    //#extras
    // An embed may change how the details the gallery carries show (counts
    // off, on hover or below; the biography or the links on tiles hidden
    // or shown), though not add any the gallery's settings leave out.
    const counts = option('counts'), bio = option('bio'), shopOnTile = option('shop-link-on-tile');
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
    // is written, before the images load; a tile's WebP <source> likewise.
    const images = [...gallery.querySelectorAll('.vitrine-item img')], drawn = images.map(img => img.getBoundingClientRect().width);
    images.forEach((img, i) => drawn[i] && [img, img.parentNode.querySelector('source')].forEach(e => e && (e.sizes = Math.ceil(drawn[i]) + 'px')));
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
    // data-s: [id, width, height, widths, alt, video, webp].
    const image = one(viewer, 'lb-img'), webp = one(viewer, 'lb-webp'), video = one(viewer, 'lb-vid'), base = gallery.getAttribute('data-base'), links = [];
    let tile = 0, slide = 0, slides, opener, json;
    // widget.json, asked once (for the captions and Load more), with the
    // gallery's caption filter (data-q); asked again after a failure.
    const posts = () => json || (json = fetch(base + '/widget.json' + (gallery.dataset.q || '')).then(r => r.json()).catch(e => {
      json = 0;
      throw e;
    }));
    function show() {
      const [id, width, height, widths, alt, hasVideo, hasWebP] = slides[slide], dir = base + '/media/' + id + '/';
      image.removeAttribute('src');
      // Without a WebP of every width, the <source> has no srcset and the
      // browser skips it for the JPEGs.
      webp.sizes = 'min(1080px,100vw)';
      hasWebP ? webp.srcset = widths.map(w => dir + w + '.webp ' + w + 'w').join() : webp.removeAttribute('srcset');
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
      // A tile's caption is cut short, or not there: the whole one comes
      // from widget.json, the post with the tile's link.
      const link = links[tile], caption = one(viewer, 'lb-cap'), cut = one(link.parentNode, 'cap'), number = new Intl.NumberFormat(gallery.lang || 'en');
      caption.textContent = cut ? cut.textContent : '';
      posts().then(r => r.posts.forEach(p => p.permalink == link.href && links[tile] == link && (caption.textContent = p.caption)), () => 0);
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
    // Load more: each click shows the next page of widget.json, each tile a
    // copy of the first with the post's data.
    const more = one(gallery, 'more'), model = all(gallery, 'item')[0], loadMore = option('load-more');
    let queue;
    if (!more || !model) return;
    // The markup has the button whenever there are more posts; the
    // settings or the embed show it.
    if (loadMore == 'true' || loadMore == 'false') more.hidden = loadMore == 'false';
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
        // The copy's <source> (if the first tile has WebP) offers this
        // post's WebP, or goes when it has none yet.
        const source = item.querySelector('source');
        source && (largest.webp ? source.srcset = post.images.map(y => y.webp + ' ' + y.width + 'w').join() : source.remove());
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
          return [p.id, last.width, last.height, p.images.map(y => y.width), p.alt, p.video ? 1 : 0, last.webp ? 1 : 0];
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
      posts().then(function (r) {
        queue = r.posts.slice();
        more.disabled = false;
        showMore();
      }, () => { more.disabled = false });
    };
  }
})
