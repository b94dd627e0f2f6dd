package app

import (
	"context"
	"fmt"
	"strings"

	"vitrine/appearance"
	"vitrine/moderation"
	"vitrine/store"
)

// Appearance reads the gallery's settings.
func (a *App) Appearance(ctx context.Context) (appearance.State, error) {
	saved, err := a.Store.GallerySettings(ctx)
	if err != nil {
		return appearance.State{}, err
	}
	file := a.Config.Widget.Settings.Clone()
	current, skipped := file.With(saved)
	return appearance.State{File: file, Current: current, Saved: saved, Skipped: skipped, MaxCount: a.Config.Widget.MaxPosts}, nil
}

// SaveAppearance makes s the gallery's settings: it keeps the options that
// differ from the config file's (so the others go on following the file),
// moves the gallery's generation so every process rebuilds, notes in the
// activity log what changed, and rebuilds this process's gallery. Settings
// that are not allowed save nothing (appearance.Problems). changed lists the
// options whose value the gallery shows moved, in the table's order.
// Like Moderate, a rebuild that fails after the save wraps
// moderation.ErrNotShownYet: the settings are kept, and the next rebuild
// shows them.
func (a *App) SaveAppearance(ctx context.Context, s appearance.Settings) (changed []string, err error) {
	problems := appearance.Problems(s.Problems())
	if max := a.Config.Widget.MaxPosts; s.Count > max {
		problems = append(problems, appearance.Problem{Key: "count", Msg: fmt.Sprintf("must not exceed %d (widget.max_posts)", max)})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	before, err := a.Appearance(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range appearance.Options {
		if o.Text(s) != o.Text(before.Current) {
			changed = append(changed, o.Key)
		}
	}
	overrides := s.Overrides(before.File)
	if len(changed) == 0 && len(before.Skipped) == 0 && len(overrides) == len(before.Saved) {
		return nil, nil // nothing to do; not worth a log line
	}
	if err := a.Store.SaveGallerySettings(ctx, overrides); err != nil {
		return nil, err
	}
	switch {
	case len(overrides) == 0:
		a.event(ctx, "appearance", store.LevelInfo, "Gallery appearance reset to the config file's")
	case len(changed) > 0:
		a.event(ctx, "appearance", store.LevelInfo, "Gallery appearance saved: "+describeChanges(changed, s))
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moderationRebuildTimeout)
	defer cancel()
	if err := a.Gallery.Rebuild(rctx); err != nil {
		return changed, fmt.Errorf("%w: %w", moderation.ErrNotShownYet, err)
	}
	return changed, nil
}

// ResetAppearance forgets the saved settings: the config file's apply again.
func (a *App) ResetAppearance(ctx context.Context) (changed []string, err error) {
	return a.SaveAppearance(ctx, a.Config.Widget.Settings.Clone())
}

// PreviewGallery is the gallery page as it would look with s, for the
// Appearance page to show before saving (widget.Preview). Settings that are
// not allowed are refused, as SaveAppearance would.
func (a *App) PreviewGallery(s appearance.Settings) (page []byte, contentSecurityPolicy string, err error) {
	if ps := s.Problems(); len(ps) > 0 {
		return nil, "", appearance.Problems(ps)
	}
	return a.Gallery.Preview(s)
}

// describeChanges names what changed for the activity log: "layout
// carousel, theme dark". Words filters are named, not quoted, to keep the
// line short.
func describeChanges(keys []string, s appearance.Settings) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		o, _ := appearance.Lookup(k)
		v := o.Text(s)
		switch {
		case o.Kind == appearance.Words:
			v = fmt.Sprintf("%d words", len(strings.Fields(v)))
		case v == "":
			v = "the theme's"
		}
		parts = append(parts, strings.ToLower(o.Label)+" "+v)
	}
	return strings.Join(parts, ", ")
}
