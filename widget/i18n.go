package widget

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
}

// languages are the gallery's languages, by widget.language's codes. The
// admin stays English.
var languages = map[string]words{
	"en": {Follow: "Follow", View: "View on Instagram", More: "Load more", Prev: "Previous", Next: "Next", Close: "Close",
		Viewer: "Post viewer", Video: "Video", Album: "Album", Placeholder: "New posts are on their way."},
	"pt": {Follow: "Seguir", View: "Ver no Instagram", More: "Carregar mais", Prev: "Anterior", Next: "Seguinte", Close: "Fechar",
		Viewer: "Visualizador de publicações", Video: "Vídeo", Album: "Álbum", Placeholder: "Novas publicações a caminho."},
	"es": {Follow: "Seguir", View: "Ver en Instagram", More: "Cargar más", Prev: "Anterior", Next: "Siguiente", Close: "Cerrar",
		Viewer: "Visor de publicaciones", Video: "Vídeo", Album: "Álbum", Placeholder: "Pronto habrá nuevas publicaciones."},
	"fr": {Follow: "S’abonner", View: "Voir sur Instagram", More: "Afficher plus", Prev: "Précédent", Next: "Suivant", Close: "Fermer",
		Viewer: "Visionneuse de publications", Video: "Vidéo", Album: "Album", Placeholder: "De nouvelles publications arrivent bientôt."},
	"de": {Follow: "Folgen", View: "Auf Instagram ansehen", More: "Mehr laden", Prev: "Zurück", Next: "Weiter", Close: "Schließen",
		Viewer: "Beitragsansicht", Video: "Video", Album: "Album", Placeholder: "Neue Beiträge sind unterwegs."},
}

// wordsFor is lang's table, English for a language we don't have.
func wordsFor(lang string) words {
	if w, ok := languages[lang]; ok {
		return w
	}
	return languages["en"]
}
