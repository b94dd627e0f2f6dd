package jobs

import (
	"context"
	"time"

	"vitrine/instagram"
	"vitrine/store"
)

// Store is what the jobs need of *store.Store (DESIGN.md habit 1: the
// consumer declares the interface; main hands in the concrete store).
type Store interface {
	Token(ctx context.Context) (store.Token, error)
	UpdateTokenStatus(ctx context.Context, status store.TokenStatus, reason string) (changed bool, err error)
	MarkTokenChecked(ctx context.Context, at time.Time, lastErr string) error
	ReplaceAccessToken(ctx context.Context, accessToken string, issuedAt, expiresAt time.Time) error
	UpdateAccount(ctx context.Context, userID string, a store.Account) error

	ReplacePosts(ctx context.Context, posts []store.Post) (store.SyncResult, error)
	PostCount(ctx context.Context) (int64, error)

	Images(ctx context.Context) ([]store.Image, error)
	SaveImage(ctx context.Context, im store.Image) error
	DeleteImages(ctx context.Context, mediaIDs []string) error

	JobRuns(ctx context.Context) ([]store.JobRun, error)
	SaveJobRun(ctx context.Context, r store.JobRun) error

	AddEvent(ctx context.Context, kind, level, message string) error
	State(ctx context.Context, key string) (value string, ok bool, err error)
	SetState(ctx context.Context, key, value string) error
}

// Instagram is what the jobs need of *instagram.Client.
type Instagram interface {
	Refresh(ctx context.Context, longLived string) (instagram.LongLivedToken, error)
	Me(ctx context.Context, token string) (instagram.Profile, error)
	Media(ctx context.Context, token string, max int) ([]instagram.Media, error)
	Download(ctx context.Context, mediaURL string, maxBytes int64) ([]byte, string, error)
}

var (
	_ Store     = (*store.Store)(nil)
	_ Instagram = (*instagram.Client)(nil)
)
