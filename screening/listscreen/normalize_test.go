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

func TestBlockKeys(t *testing.T) {
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
		{"kowalczyk", "kovalczyk", "kowalzcyk"},
		{"yusuf", "jusuf", "yousef"},
		{"sergei", "sergey"},
		{"dmitriy", "dmitry"},
		{"gonzalez", "gonzales"},
		{"sulweis", "stulweis"},     // a consonant dropped
		{"haiban", "haibao"},        // the last one dropped
		{"brankovic", "brankowicz"}, // and changed
		{"griveindjind", "grieindjind"},
	}
	for _, group := range same {
		for _, tok := range group[1:] {
			assert.True(t, shareKey(blockKeys(group[0]), blockKeys(tok)), "%s %v and %s %v", group[0], blockKeys(group[0]), tok, blockKeys(tok))
		}
	}
	different := [][2]string{
		{"anna", "marek"}, {"hans", "maria"}, {"wei", "wen"}, {"quinn", "quill"}, {"tchaikovsky", "chaikovsky"}, {"korosfalvi", "kovacs"},
	}
	for _, p := range different {
		assert.False(t, shareKey(blockKeys(p[0]), blockKeys(p[1])), "%s %v and %s %v", p[0], blockKeys(p[0]), p[1], blockKeys(p[1]))
	}
	assert.Equal(t, []string{"#зо"}, blockKeys("зоя"))
	assert.Equal(t, []string{"#00"}, blockKeys("007"))
	assert.Equal(t, []string{"#7"}, blockKeys("7"))
	assert.Equal(t, []string{"2"}, blockKeys("q"))
	assert.Equal(t, []string{"a"}, blockKeys("a"))
	assert.Equal(t, []string{"h25", "h5", "h2"}, blockKeys("hassan"))
	assert.Equal(t, []string{"2142", "2422", "2122"}, blockKeys("kowalczyk"))
}
