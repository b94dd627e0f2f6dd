package admin

import (
	"context"
	"fmt"

	"vitrine/appearance"
	"vitrine/widget"
)

// The appearance operations, as the app composes them: the settings kept
// as overrides of the config file's in the store, the gallery rebuilt.

func (e *env) widget() *widget.Widget {
	e.t.Helper()
	if e.gallery == nil {
		w, err := widget.New(widget.Options{Settings: e.cfg.Widget, PublicURL: e.cfg.Server.PublicURL,
			Source: widget.StoreSource(e.st, e.t.TempDir()), Now: e.clock.Now})
		if err != nil {
			e.t.Fatal(err)
		}
		e.gallery = w
	}
	return e.gallery
}

func (o operations) Appearance(ctx context.Context) (appearance.State, error) {
	saved, err := o.e.st.GallerySettings(ctx)
	if err != nil {
		return appearance.State{}, err
	}
	current, skipped := o.e.cfg.Widget.Settings.With(saved)
	return appearance.State{File: o.e.cfg.Widget.Settings, Current: current, Saved: saved, Skipped: skipped, MaxCount: o.e.cfg.Widget.MaxPosts}, nil
}

func (o operations) SaveAppearance(ctx context.Context, s appearance.Settings) ([]string, error) {
	ps := appearance.Problems(s.Problems())
	if s.Count > o.e.cfg.Widget.MaxPosts {
		ps = append(ps, appearance.Problem{Key: "count", Msg: fmt.Sprintf("must not exceed %d", o.e.cfg.Widget.MaxPosts)})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	before, err := o.Appearance(ctx)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, opt := range appearance.Options {
		if opt.Text(s) != opt.Text(before.Current) {
			changed = append(changed, opt.Key)
		}
	}
	if err := o.e.st.SaveGallerySettings(ctx, s.Overrides(o.e.cfg.Widget.Settings)); err != nil {
		return nil, err
	}
	return changed, o.e.widget().Rebuild(ctx)
}

func (o operations) ResetAppearance(ctx context.Context) ([]string, error) {
	return o.SaveAppearance(ctx, o.e.cfg.Widget.Settings)
}

func (o operations) PreviewGallery(s appearance.Settings) ([]byte, string, error) {
	return o.e.widget().Preview(s)
}
