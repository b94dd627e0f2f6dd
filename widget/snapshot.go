package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"sync"
	"time"

	"vitrine/appearance"
	"vitrine/config"
	"vitrine/moderation"
	"vitrine/store"
)

// snapshot is everything the public handlers serve, built once per sync and
// never modified after it is published through Widget.cur.
type snapshot struct {
	*views // in widget.language
	lang   string
	// otherLanguages renders the views in another language on first use:
	// most sites never ask for one, and every rebuild (each sync, on every
	// replica) would otherwise render and compress them all.
	otherLanguages map[string]*lazyViews
	json           *asset
	style          *asset              // /widget.css: the space each embed reserves
	view           galleryView         // the gallery modelled, in widget.language
	media          map[mediaKey]string // (id, width) → file path
	doc            jsonDoc             // kept to re-encode the JSON when only "stale" changes

	// What the snapshot was modelled from, kept to build the word
	// galleries an embed's caption filter asks for (wordgalleries.go).
	in            input
	files         map[string][]MirroredFile
	videos        map[string]bool
	wordGalleries *wordGalleries
}

type mediaKey struct {
	id    string
	width int
	webp  bool // the WebP of that width, not its JPEG
}

// asset is one response body in both encodings with its responses
// prepared: a request only picks one.
type asset struct {
	body, gz     []byte
	etag, etagGz string // quoted strong ETags
	// responses are the heads the asset is sent with: [gzip][not modified].
	responses [2][2]*prepared
}

// newAsset compresses body and prepares its responses under routeFields
// (see galleryFields).
func newAsset(body []byte, contentType string, routeFields []field) (*asset, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	a := &asset{
		body:   body,
		gz:     buf.Bytes(),
		etag:   `"` + tag + `"`,
		etagGz: `"` + tag + `-gz"`,
	}
	a.prepare(contentType, routeFields)
	return a, nil
}

// build turns what the store holds into a snapshot. It is pure: no I/O.
func (w *Widget) build(in input, stale bool) (*snapshot, error) {
	media, files, videos := indexImages(in.images, w.settings.WebP)
	dropHidden(media, in.posts, in.moderated)
	v, doc, err := w.model(in, files, videos, stale, newPostFilter(in.look))
	if err != nil {
		return nil, err
	}
	s, err := w.render(v, doc)
	if err != nil {
		return nil, err
	}
	s.media = media
	in.images = nil // indexed in files; wordGalleries need only the rest
	s.in, s.files, s.videos, s.wordGalleries = in, files, videos, &wordGalleries{}
	// widget.css: the gallery's CSS with the settings, then the space of
	// each embed, which reservationCSS reads off the finished snapshot.
	if s.style, err = newAsset([]byte(string(v.CSS)+"\n"+w.reservationCSS(s)), "text/css; charset=utf-8", w.galleryFields(kindStyle, "")); err != nil {
		return nil, err
	}
	return s, nil
}

// indexImages sorts the mirrored files out. media is what /media/ serves:
// the JPEG and the WebP of each (id, width), and each video under (id,
// videoWidth); files lists each id's JPEGs by ascending width, each
// marked WebP when that width has one too; videos holds the ids with a
// video. Entries with an invalid id or size, and repeated files, are left
// out, and so are the WebP files unless webp (widget.webp): switched off,
// the gallery serves JPEG only, though the mirror made WebP while it was
// on.
func indexImages(images []MirroredFile, webp bool) (media map[mediaKey]string, files map[string][]MirroredFile, videos map[string]bool) {
	media, files, videos = map[mediaKey]string{}, map[string][]MirroredFile{}, map[string]bool{}
	for _, im := range images {
		if im.WebP && !webp {
			continue
		}
		if im.Video {
			if validMediaID(im.MediaID) && im.MediaID != AvatarID && im.Path != "" {
				media[mediaKey{im.MediaID, videoWidth, false}] = im.Path
				videos[im.MediaID] = true
			}
			continue
		}
		if !validMediaID(im.MediaID) || im.Width <= 0 || im.Height <= 0 || im.Path == "" {
			continue
		}
		k := mediaKey{im.MediaID, im.Width, im.WebP}
		if _, dup := media[k]; dup {
			continue
		}
		media[k] = im.Path
		if !im.WebP {
			files[im.MediaID] = append(files[im.MediaID], im)
		}
	}
	for _, fs := range files {
		slices.SortFunc(fs, func(a, b MirroredFile) int { return a.Width - b.Width })
		for i := range fs {
			_, fs[i].WebP = media[mediaKey{fs[i].MediaID, fs[i].Width, true}]
		}
	}
	return media, files, videos
}

// dropHidden takes the files of the posts the owner hid out of media,
// their carousels' pictures included. The mirror keeps them on disk for
// moderation.HiddenImagesKept, so that showing a post again needs no
// download, but hiding is how an owner takes a picture down from their
// site: /media/ stops serving it at once.
func dropHidden(media map[mediaKey]string, posts []store.Post, decisions []store.Moderation) {
	hidden := map[string]bool{}
	for _, d := range decisions {
		if d.Hidden() {
			hidden[d.PostID] = true
		}
	}
	if len(hidden) == 0 {
		return
	}
	gone := map[string]bool{}
	for _, p := range posts {
		if hidden[p.ID] {
			gone[p.ID] = true
			for _, c := range p.Children {
				gone[c.ID] = true
			}
		}
	}
	for k := range media {
		if gone[k.id] {
			delete(media, k)
		}
	}
}

// model is what the gallery shows, twice: as the templates' view (the
// first widget.count posts) and as the JSON document (up to
// widget.max_posts), of the posts filter keeps. Only posts whose image is
// mirrored are in either.
func (w *Widget) model(in input, files map[string][]MirroredFile, videos map[string]bool, stale bool, filter postFilter) (galleryView, jsonDoc, error) {
	cfg, base := in.look, w.base
	v := galleryView{
		Base:          base,
		Columns:       cfg.Columns,
		ColumnsMobile: cfg.ColumnsMobile,
		Layout:        choice(cfg.Layout, appearance.Layouts),
		Aspect:        strings.ReplaceAll(choice(cfg.Aspect, appearance.Aspects), ":", "x"),
		Lang:          choice(cfg.Language, appearance.Languages),
		Words:         wordsFor(cfg.Language),
		Captions:      cfg.Captions,
		Theme:         choice(cfg.Theme, appearance.Themes),
		Boxed:         colorRE.MatchString(cfg.BackgroundColor),
		Header:        cfg.Header,
		Follow:        cfg.FollowButton,
		Counts:        choice(cfg.Counts, appearance.CountModes),
		ShopOnTile:    cfg.ShopLinkOnTile,
		Placeholder:   w.settings.Placeholder,
		Sizes:         tileSizes(cfg.Columns, cfg.ColumnsMobile),
		Title:         "Instagram",
	}
	if v.Placeholder == config.DefaultPlaceholder {
		v.Placeholder = v.Words.Placeholder
	}
	doc := jsonDoc{Version: 1, Posts: []jsonPost{}, Stale: stale}
	if in.connected && in.token.Username != "" {
		v.Account, doc.Account = accountModel(base, in.token, files[AvatarID])
		v.ProfileURL = v.Account.ProfileURL
		v.Title = "@" + v.Account.Username + " on Instagram"
		v.Bio = cfg.Bio
	}
	var newest time.Time
	if in.connected {
		for _, p := range in.posts {
			if p.SyncedAt.After(newest) {
				newest = p.SyncedAt
			}
		}
		posts, pinned := moderation.Apply(in.posts, in.moderated)
		links := map[string]store.Link{}
		for _, d := range in.moderated {
			if l, ok := servedLink(d.Link); ok {
				links[d.PostID] = l
			}
		}
		for _, p := range posts {
			fs := files[p.ID]
			if len(fs) == 0 || !validMediaID(p.ID) {
				continue // not mirrored yet: never hot-link Instagram
			}
			if !filter.keeps(p) {
				continue
			}
			if len(doc.Posts) >= max(w.settings.MaxPosts, cfg.Count) {
				break
			}
			jp := postJSON(base, p, fs, files, videos)
			jp.Pinned = pinned[p.ID]
			link, linked := links[p.ID]
			if linked {
				jp.Link = linkJSON(link, v.Words)
				v.Links = true
			}
			doc.Posts = append(doc.Posts, jp)
			if len(v.Posts) < cfg.Count {
				pv, err := postView(base, p, jp, fs, cfg.CaptionLength)
				if err != nil {
					return v, doc, err
				}
				if linked {
					pv.Link = &linkView{URL: link.URL, Label: link.Label}
				}
				v.Posts = append(v.Posts, pv)
			}
		}
	}
	v.More, v.LoadMore = len(doc.Posts) > len(v.Posts), cfg.LoadMore
	v.Extras = v.Counts != "off" || v.Bio || v.Links
	v.CSS = w.styled(v, cfg)
	if newest.IsZero() {
		newest = w.now()
	}
	doc.UpdatedAt = newest.UTC().Format(time.RFC3339)
	return v, doc, nil
}

// tileSizes is the images' sizes before the loader measures their tiles
// (on the /widget page the first row is already loading by then): the
// tile of a gallery as wide as the window less the page's 8 px margins,
// in columns, or columnsMobile under 480 px. Lazy images say "auto"
// first, so browsers that can use the drawn width do.
func tileSizes(columns, columnsMobile int) string {
	tile := func(c int) string {
		c = max(c, 1)
		return fmt.Sprintf("calc((100vw - %dpx) / %d)", 16+4*(c-1), c)
	}
	return "(max-width: 496px) " + tile(columnsMobile) + ", " + tile(columns)
}

// choice is value when it is one of choices, else the first (the
// default): a bad setting never breaks the gallery.
func choice(value string, choices []string) string {
	for _, c := range choices {
		if c == value {
			return c
		}
	}
	return choices[0]
}

// accountModel is the connected account for the header and the JSON; avatar
// is its mirrored profile picture by ascending width, if any.
func accountModel(base string, tok store.Token, avatar []MirroredFile) (*accountView, *jsonAccount) {
	acc := &accountView{
		Username:   tok.Username,
		Name:       tok.Name,
		ProfileURL: "https://www.instagram.com/" + tok.Username + "/",
		Initial:    initial(tok.Name, tok.Username),
	}
	acc.Biography, acc.FollowersCount = tok.Biography, max(tok.FollowersCount, 0)
	ja := &jsonAccount{Username: acc.Username, Name: acc.Name, ProfileURL: acc.ProfileURL,
		Biography: acc.Biography, FollowersCount: acc.FollowersCount}
	if len(avatar) > 0 {
		f := avatar[0] // the smallest is plenty for 44 px
		if len(avatar) > 1 && f.Width < 88 {
			f = avatar[1]
		}
		acc.Avatar = &imageView{Src: mediaURL(base, AvatarID, f.Width)}
		ja.AvatarURL = acc.Avatar.Src
	}
	return acc, ja
}

// render makes the snapshot's assets from the model: the JSON document
// encoded, the templates executed for the page, the fragment and the
// script, each with its responses prepared, in widget.language and in
// every other language (?language=).
func (w *Widget) render(v galleryView, doc jsonDoc) (*snapshot, error) {
	s := &snapshot{doc: doc, otherLanguages: map[string]*lazyViews{}, lang: v.Lang, view: v}
	var err error
	if s.json, err = jsonAsset(&s.doc, w.galleryFields(kindJSON, "")); err != nil {
		return nil, err
	}
	if s.views, err = w.renderViews(inLanguage(v, v.Lang)); err != nil {
		return nil, err
	}
	for code := range languages {
		if code != v.Lang {
			s.otherLanguages[code] = &lazyViews{}
		}
	}
	return s, nil
}

// lazyViews are a snapshot's views in one other language, rendered once,
// by the first request that asks for them.
type lazyViews struct {
	once sync.Once
	vs   *views
	err  error
}

// viewsIn returns the snapshot's views in lang, rendering them on first
// use; nil when lang is not one the gallery speaks, or rendering failed
// (logged once; the caller serves widget.language's).
func (w *Widget) viewsIn(s *snapshot, lang string) *views {
	if lang == s.lang {
		return s.views
	}
	lv := s.otherLanguages[lang]
	if lv == nil {
		return nil
	}
	lv.once.Do(func() {
		if lv.vs, lv.err = w.renderViews(inLanguage(s.view, lang)); lv.err != nil {
			w.log.Error("widget: render the gallery in another language", "language", lang, "err", lv.err)
		}
	})
	return lv.vs
}

// inLanguage is v in the language code (one of languages).
func inLanguage(v galleryView, code string) galleryView {
	lv := v
	lv.Lang, lv.Words = code, languages[code]
	if v.Placeholder == v.Words.Placeholder {
		lv.Placeholder = lv.Words.Placeholder // the default, said in this language
	}
	return lv
}

// views are the gallery's HTML page, fragment and script in one language.
type views struct{ page, fragment, js *asset }

// pick is the asset a gallery route serves from vs: the script, the
// fragment when asked for, else the page; json for widget.json.
func (vs *views) pick(kind routeKind, fragment bool, json *asset) *asset {
	switch {
	case kind == kindJSON:
		return json
	case kind == kindScript:
		return vs.js
	case fragment:
		return vs.fragment
	}
	return vs.page
}

func (w *Widget) renderViews(v galleryView) (*views, error) {
	var vs views
	var err error
	if vs.fragment, err = w.renderFragment(v); err != nil {
		return nil, err
	}
	if vs.page, err = w.renderPage(v); err != nil {
		return nil, err
	}
	if vs.js, err = w.renderScript(v); err != nil {
		return nil, err
	}
	return &vs, nil
}

// renderFragment is the bare markup with its style, for server-side
// includes.
func (w *Widget) renderFragment(v galleryView) (*asset, error) {
	v.Included = true
	frag, err := w.exec("fragment", v)
	if err != nil {
		return nil, err
	}
	return newAsset(frag, "text/html; charset=utf-8", w.galleryFields(kindPage, fragmentCSP(w.base, w.settings.FrameAncestors)))
}

// renderPage is the /widget page, its loader inline.
func (w *Widget) renderPage(v galleryView) (*asset, error) {
	script := w.loader(v) + "({})"
	v.Script = template.JS(script)
	page, err := w.exec("page", v)
	if err != nil {
		return nil, err
	}
	return newAsset(page, "text/html; charset=utf-8", w.galleryFields(kindPage, pageCSP(w.base, script, w.settings.FrameAncestors)))
}

// renderScript is widget.js: the loader called with the markup and the
// address of its stylesheet (widget.css, which the snippet links too).
func (w *Widget) renderScript(v galleryView) (*asset, error) {
	markup, err := w.exec("gallery", v)
	if err != nil {
		return nil, err
	}
	data, err := jsData(string(markup), w.base+StylePath)
	if err != nil {
		return nil, err
	}
	return newAsset([]byte(w.loader(v)+"("+data+");\n"), "text/javascript; charset=utf-8", w.galleryFields(kindScript, ""))
}

func (w *Widget) exec(name string, v galleryView) ([]byte, error) {
	var buf bytes.Buffer
	if err := w.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		return nil, fmt.Errorf("execute %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// jsData is the argument the loader is called with: {"h": markup, "s":
// the stylesheet's URL}.
func jsData(markup, stylesheet string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a JavaScript response, not HTML; U+2028/9 are still escaped
	if err := enc.Encode(struct {
		H string `json:"h"`
		S string `json:"s"`
	}{markup, stylesheet}); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// pageCSP locks the /widget page down: only its own inline script (by
// hash), images and videos from Vitrine (and data: images: the counts'
// icons are CSS masks written inline), inline styles (the dominant
// colours), and framing by the configured ancestors.
func pageCSP(base, script string, ancestors []string) string {
	sum := sha256.Sum256([]byte(script))
	ours := "'self'"
	if base != "" {
		ours += " " + base
	}
	return "default-src 'none'; img-src " + ours + " data:; media-src " + ours + "; connect-src " + ours + "; style-src 'unsafe-inline'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'; frame-ancestors " +
		frameAncestors(ancestors)
}

// fragmentCSP is for the bare fragment when it is fetched directly: it
// carries no script, so it may run none; a page that includes it
// server-side brings its own policy.
func fragmentCSP(base string, ancestors []string) string {
	img := "'self'"
	if base != "" {
		img += " " + base
	}
	return "default-src 'none'; img-src " + img + " data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors " +
		frameAncestors(ancestors)
}

// frameAncestors renders widget.frame_ancestors as CSP sources; the
// keywords may be written with or without their quotes.
func frameAncestors(list []string) string {
	if len(list) == 0 {
		return "*"
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		switch k := strings.Trim(s, "'"); k {
		case "self", "none":
			out = append(out, "'"+k+"'")
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// validMediaID accepts Instagram's ids (digits) and the avatar.
func validMediaID(id string) bool {
	if id == AvatarID {
		return true
	}
	if id == "" || len(id) > 40 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
