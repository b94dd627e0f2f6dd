package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// The profile picture is kept in the store's key/value state: one small
// image, written at connect time, read by the dashboard.
const (
	avatarKey      = "admin.avatar"
	maxAvatarBytes = 512 << 10
	// avatarTimeout bounds the download at connect time; the connection
	// is made already, so a slow CDN only costs the picture.
	avatarTimeout = 10 * time.Second
)

type storedAvatar struct {
	Type string `json:"type"`
	Data []byte `json:"data"`
}

// imageTypes are the content types we serve back; anything else is dropped.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true}

// saveAvatar downloads the profile picture. Best effort: without it the
// dashboard shows the initial.
func (a *Admin) saveAvatar(ctx context.Context, pictureURL string) {
	value := ""
	if pictureURL != "" {
		data, ctype, err := a.ig.Download(ctx, pictureURL, maxAvatarBytes)
		switch {
		case err != nil:
			a.log.Warn("admin: profile picture not downloaded", "err", err)
		case !imageTypes[ctype]:
			a.log.Warn("admin: profile picture has an unexpected type", "type", ctype)
		default:
			b, _ := json.Marshal(storedAvatar{Type: ctype, Data: data})
			value = string(b)
		}
	}
	if err := a.store.SetState(ctx, avatarKey, value); err != nil {
		a.log.Warn("admin: save profile picture", "err", err)
	}
}

func (a *Admin) loadAvatar(ctx context.Context) (storedAvatar, bool) {
	raw, ok, err := a.store.State(ctx, avatarKey)
	if err != nil || !ok || raw == "" {
		return storedAvatar{}, false
	}
	var av storedAvatar
	if json.Unmarshal([]byte(raw), &av) != nil || !imageTypes[av.Type] || len(av.Data) == 0 {
		return storedAvatar{}, false
	}
	return av, true
}

// avatarURL is the picture's address with a content version, "" if none.
func avatarURL(av storedAvatar) string {
	sum := sha256.Sum256(av.Data)
	return "/admin/avatar?v=" + hex.EncodeToString(sum[:6])
}

func (a *Admin) avatar(c *gin.Context) {
	av, ok := a.loadAvatar(c.Request.Context())
	if !ok {
		c.Error(notFound())
		return
	}
	c.Header("Cache-Control", "private, max-age=86400")
	c.Header("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Data(http.StatusOK, av.Type, av.Data)
}
