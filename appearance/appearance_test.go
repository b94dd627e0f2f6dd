package appearance

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Every field of Settings is one row of the table, and no two rows share a
// key, an attribute, a query parameter or a field: the table is the whole
// list of options.
func TestTableCoversEverySettingOnce(t *testing.T) {
	typ := reflect.TypeOf(Settings{})
	if typ.NumField() != len(Options) {
		t.Errorf("Settings has %d fields, the table %d rows", typ.NumField(), len(Options))
	}
	seen := map[string]string{}
	fields := map[uintptr]string{}
	for _, o := range Options {
		for kind, name := range map[string]string{"key": o.Key, "attr": o.Attr, "query": o.Query} {
			if name == "" {
				continue
			}
			if other, dup := seen[kind+name]; dup {
				t.Errorf("%s %q is both %s's and %s's", kind, name, other, o.Key)
			}
			seen[kind+name] = o.Key
		}
		var s Settings
		ptr := reflect.ValueOf(o.field(&s)).Pointer()
		if other, dup := fields[ptr]; dup {
			t.Errorf("%s and %s set the same field", o.Key, other)
		}
		fields[ptr] = o.Key
		// The key is the field's yaml name, so the config file, the
		// environment and the database spell it alike.
		for i := range typ.NumField() {
			f := typ.Field(i)
			if reflect.ValueOf(&s).Elem().Field(i).Addr().Pointer() == ptr && f.Tag.Get("yaml") != o.Key {
				t.Errorf("option %s sets field %s, whose yaml name is %q", o.Key, f.Name, f.Tag.Get("yaml"))
			}
		}
		if len(o.ValueLabels) != len(o.Values) {
			t.Errorf("option %s: %d values, %d labels", o.Key, len(o.Values), len(o.ValueLabels))
		}
		if o.Label == "" || !slices.Contains(Groups, o.Group) {
			t.Errorf("option %s: label %q, group %q", o.Key, o.Label, o.Group)
		}
	}
}

func TestDefaultsAreAllowed(t *testing.T) {
	if ps := Defaults().Problems(); len(ps) > 0 {
		t.Errorf("the defaults have problems: %v", ps)
	}
}

// Each option's value survives its text form, which the database, a form, a
// data- attribute and a query parameter all carry.
func TestTextRoundTrips(t *testing.T) {
	s := Defaults()
	s.Layout, s.Columns, s.Captions, s.AccentColor = "masonry", 5, true, "#12ab9f"
	s.MediaTypes, s.IncludeWords = []string{"VIDEO", "IMAGE"}, []string{"#handmade", "studio"}
	for _, o := range Options {
		var back Settings
		if err := o.Set(&back, o.Text(s)); err != nil {
			t.Errorf("%s: Set(Text = %q): %v", o.Key, o.Text(s), err)
			continue
		}
		if got, want := o.Text(back), o.Text(s); got != want {
			t.Errorf("%s: %q came back as %q", o.Key, want, got)
		}
	}
}

func TestSetRefusesWhatTheOptionDoesNotAllow(t *testing.T) {
	for _, tc := range []struct{ key, text, want string }{
		{"layout", "mosaic", "must be one of grid, carousel, masonry, highlight"},
		{"columns", "13", "from 1 to 12"},
		{"columns", "three", "from 1 to 12"},
		{"gap", "-1", "from 0 to 32"},
		{"gap", "x", "from 0 to 32"},
		{"captions", "yes please", "true or false"},
		{"accent_color", "red", "#rrggbb"},
		{"accent_color", "#12345", "#rrggbb"},
		{"accent_color", "javascript:alert(1)", "#rrggbb"},
		{"media_types", "REELS", `"REELS" is not one of`},
		{"media_types", " , ", "at least one"},
		{"include_words", strings.Repeat("w ", 21), "at most 20"},
		{"include_words", strings.Repeat("w", 65), "longer than 64"},
	} {
		o, ok := Lookup(tc.key)
		if !ok {
			t.Fatalf("no option %s", tc.key)
		}
		s := Defaults()
		before := o.Text(s)
		err := o.Set(&s, tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s = %q: error %v, want one saying %q", tc.key, tc.text, err, tc.want)
		}
		if o.Text(s) != before {
			t.Errorf("%s = %q changed the setting to %q though refused", tc.key, tc.text, o.Text(s))
		}
	}
}

func TestSetNormalises(t *testing.T) {
	s := Defaults()
	for key, text := range map[string]string{"accent_color": " #AABBCC ", "media_types": "video, image video", "include_words": "sale,  #Summer"} {
		o, _ := Lookup(key)
		if err := o.Set(&s, text); err != nil {
			t.Fatalf("%s = %q: %v", key, text, err)
		}
	}
	if s.AccentColor != "#aabbcc" || !slices.Equal(s.MediaTypes, []string{"VIDEO", "IMAGE"}) || !slices.Equal(s.IncludeWords, []string{"sale", "#Summer"}) {
		t.Errorf("normalised to %q %q %q", s.AccentColor, s.MediaTypes, s.IncludeWords)
	}
}

// What is saved is only what differs from the config file's values, so an
// option the owner never touched goes on following the file; applying it
// over the file gives back what was saved.
func TestOverridesRoundTripOverTheFile(t *testing.T) {
	file := Defaults()
	owner := file.Clone()
	owner.Layout, owner.Theme, owner.ExcludeWords = "carousel", "dark", []string{"#ad"}
	saved := owner.Overrides(file)
	if len(saved) != 3 || saved["layout"] != "carousel" || saved["theme"] != "dark" || saved["exclude_words"] != "#ad" {
		t.Fatalf("overrides = %v", saved)
	}
	// The file changes an option the owner left alone: it follows.
	file.Columns = 4
	got, skipped := file.With(saved)
	if len(skipped) > 0 || got.Layout != "carousel" || got.Theme != "dark" || got.Columns != 4 || !slices.Equal(got.ExcludeWords, []string{"#ad"}) {
		t.Errorf("With = %+v, skipped %v", got, skipped)
	}
}

// A database written by another version may hold a key this one lacks or a
// value it no longer allows: those are skipped and said, the rest applies.
func TestWithSkipsWhatThisVersionDoesNotKnow(t *testing.T) {
	got, skipped := Defaults().With(map[string]string{"layout": "masonry", "columns": "99", "sparkles": "on"})
	if got.Layout != "masonry" || got.Columns != Defaults().Columns {
		t.Errorf("applied %q, %d", got.Layout, got.Columns)
	}
	if len(skipped) != 2 || skipped[0].Key != "columns" || skipped[1].Key != "sparkles" {
		t.Errorf("skipped = %v", skipped)
	}
}

// With never shares a slice with the settings it started from.
func TestWithCopies(t *testing.T) {
	file := Defaults()
	got, _ := file.With(nil)
	got.MediaTypes[0] = "CHANGED"
	if file.MediaTypes[0] == "CHANGED" {
		t.Error("With shares MediaTypes with its receiver")
	}
}
