package listscreen

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"  GARCÍA-Márquez, José ", "garcia marquez jose"},
		{"Müller", "muller"},
		{"Straße", "strasse"},
		{"Øystein Ærø", "oystein aero"},
		{"Łukasz Wałęsa", "lukasz walesa"},
		{"O'Neil", "oneil"},
		{"O’Neil", "oneil"},
		{"Nguyễn Văn An", "nguyen van an"},
		{"Đặng Thị", "dang thi"},
		{"Çelik Şahin", "celik sahin"},
		{"ﬁlip", "filip"}, // NFKD splits the ligature
		{"İlhan", "ilhan"},
		{"Jean--Pierre\t\n(Junior)", "jean pierre junior"},
		{"Зоя Квиль", "зоя квиль"},
		{"ΣΟΦΊΑ", "σοφια"},
		{"", ""},
		{"...", ""},
		{"Agent 007", "agent 007"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Normalize(tt.in), "Normalize(%q)", tt.in)
	}
}

func TestBlockKey(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"mohammed", "muhammad", "mohamed", "muhamad"},
		{"mikhail", "michail", "mikhael"},
		{"elena", "yelena", "jelena"},
		{"vladimir", "wladimir"},
		{"aleksandr", "alexander", "aleksander"},
		{"peter", "pieter", "piotr", "pyotr", "petr"},
		{"muller", "mueller"},
		{"schmidt", "schmitt", "shmidt"},
		{"kowalczyk", "kovalczyk"},
		{"yusuf", "jusuf", "yousef"},
		{"sergei", "sergey"},
		{"dmitriy", "dmitry"},
		{"gonzalez", "gonzales"},
	}
	for _, group := range same {
		for _, tok := range group[1:] {
			assert.Equal(t, blockKey(group[0]), blockKey(tok), "%s and %s", group[0], tok)
		}
	}
	different := [][2]string{
		{"anna", "marek"}, {"hans", "maria"}, {"wei", "wen"}, {"popescu", "popovici"},
	}
	for _, p := range different {
		assert.NotEqual(t, blockKey(p[0]), blockKey(p[1]), "%s and %s", p[0], p[1])
	}
	assert.Equal(t, "#зо", blockKey("зоя"))
	assert.Equal(t, "#00", blockKey("007"))
	assert.Equal(t, "#7", blockKey("7"))
	assert.Equal(t, "2", blockKey("q"))
	assert.Equal(t, "a", blockKey("a"))
	assert.Equal(t, "h25", blockKey("hassan"))
}
