package widget

import (
	"strconv"
	"strings"
)

// words are the gallery's visible strings and accessible labels in one
// language. The JSON names are what the loader reads when an embed asks
// for another language than the snapshot's (data-language, ?language=).
type words struct {
	Follow      string `json:"f"`
	View        string `json:"v"` // on Instagram
	More        string `json:"m"` // Load more
	Prev        string `json:"p"`
	Next        string `json:"n"`
	Close       string `json:"x"`
	Viewer      string `json:"l"` // the lightbox's label
	Video       string `json:"vi"`
	Album       string `json:"a"`
	Placeholder string `json:"e"`
	// Likes and Comments name a post's counts for screen readers
	// ("Likes: 1,234"); Follower and Followers follow the account's
	// follower count; Shop is the button of a post's link when the owner
	// gave it no words.
	Likes     string `json:"lk"`
	Comments  string `json:"cm"`
	Follower  string `json:"fo"`
	Followers string `json:"fs"`
	Shop      string `json:"sh"`
	// group separates a count's thousands as the browser's Intl.NumberFormat
	// does in this language, so the server's counts and those Load more
	// writes look alike; groupFrom is the fewest digits grouped.
	group     string
	groupFrom int
	// zeroIsOne: zero takes the singular ("0 abonné").
	zeroIsOne bool
}

// languages are the gallery's languages, by widget.language's codes. The
// admin stays English.
var languages = map[string]words{
	"en": {Follow: "Follow", View: "View on Instagram", More: "Load more", Prev: "Previous", Next: "Next", Close: "Close",
		Viewer: "Post viewer", Video: "Video", Album: "Album", Placeholder: "New posts are on their way.",
		Likes: "Likes", Comments: "Comments", Follower: "follower", Followers: "followers", Shop: "Shop this", group: ",", groupFrom: 4},
	"pt": {Follow: "Seguir", View: "Ver no Instagram", More: "Carregar mais", Prev: "Anterior", Next: "Seguinte", Close: "Fechar",
		Viewer: "Visualizador de publicações", Video: "Vídeo", Album: "Álbum", Placeholder: "Novas publicações a caminho.",
		Likes: "Gostos", Comments: "Comentários", Follower: "seguidor", Followers: "seguidores", Shop: "Comprar", group: ".", groupFrom: 4},
	"es": {Follow: "Seguir", View: "Ver en Instagram", More: "Cargar más", Prev: "Anterior", Next: "Siguiente", Close: "Cerrar",
		Viewer: "Visor de publicaciones", Video: "Vídeo", Album: "Álbum", Placeholder: "Pronto habrá nuevas publicaciones.",
		Likes: "Me gusta", Comments: "Comentarios", Follower: "seguidor", Followers: "seguidores", Shop: "Comprar", group: ".", groupFrom: 5},
	"fr": {Follow: "S’abonner", View: "Voir sur Instagram", More: "Afficher plus", Prev: "Précédent", Next: "Suivant", Close: "Fermer",
		Viewer: "Visionneuse de publications", Video: "Vidéo", Album: "Album", Placeholder: "De nouvelles publications arrivent bientôt.",
		Likes: "J’aime", Comments: "Commentaires", Follower: "abonné", Followers: "abonnés", Shop: "Acheter", group: "\u202f", groupFrom: 4,
		zeroIsOne: true},
	"de": {Follow: "Folgen", View: "Auf Instagram ansehen", More: "Mehr laden", Prev: "Zurück", Next: "Weiter", Close: "Schließen",
		Viewer: "Beitragsansicht", Video: "Video", Album: "Album", Placeholder: "Neue Beiträge sind unterwegs.",
		Likes: "Gefällt mir", Comments: "Kommentare", Follower: "Follower", Followers: "Follower", Shop: "Kaufen", group: ".", groupFrom: 4},
}

// Count is a post's count as the gallery writes it, "" when withheld.
func (w words) Count(n *int) string {
	if n == nil {
		return ""
	}
	return w.count(*n)
}

// count writes n with its thousands grouped as the language does.
func (w words) count(n int) string {
	s := strconv.Itoa(max(n, 0))
	if len(s) < w.groupFrom {
		return s
	}
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(w.group)
		}
		b.WriteRune(d)
	}
	return b.String()
}

// FollowersText is "1,284 followers" in the language: singular for one
// (and for zero in French).
func (w words) FollowersText(n int) string {
	if n == 1 || n == 0 && w.zeroIsOne {
		return w.count(n) + " " + w.Follower
	}
	return w.count(n) + " " + w.Followers
}

// wordsFor is lang's table, English for a language we don't have.
func wordsFor(lang string) words {
	if w, ok := languages[lang]; ok {
		return w
	}
	return languages["en"]
}
