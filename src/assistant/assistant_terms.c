/*
 * assistant_terms: the content words of a text, as the intent classifier
 * and the extractive answerer compare them. Lower-case ASCII, Latin-1
 * accents folded (á -> a, ñ -> n), English and Spanish stop words dropped,
 * and a light suffix stemming that only has to make a word and its plural
 * (and Spanish gender) meet: "refunds" ~ "refund", "pedidos" ~ "pedido" ~
 * "pedida". Deliberately small and explainable: every term can be printed.
 */
#include <string.h>

#include "assistant/assistant.h"

#define TERM_MAX 48

static const char *const stop_words[] = {
    /* English */
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as",
    "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "i", "me", "my", "you", "your", "we",
    "our", "us", "it", "its", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom",
    "how", "when", "where", "why", "can", "could", "would", "should", "will", "shall", "may", "might", "have",
    "has", "had", "please", "hi", "hello", "thanks", "thank", "any", "some", "about", "so", "too", "very", "just",
    "not", "no", "yes", "up", "out", "get", "want", "need", "like", "im", "ive", "dont", "s", "t",
    /* Spanish (accents folded) */
    "el", "la", "los", "las", "un", "una", "unos", "unas", "y", "o", "u", "de", "del", "al", "en", "con", "por",
    "para", "que", "se", "su", "sus", "mi", "mis", "tu", "tus", "yo", "me", "te", "le", "les", "lo", "nos", "es",
    "son", "esta", "estan", "este", "esto", "estos", "estas", "ser", "hay", "como", "cuando", "donde", "cual",
    "quien", "puedo", "puede", "pueden", "quiero", "quisiera", "necesito", "hola", "gracias", "favor", "muy", "ya",
    "si", "sin", "mas", "pero", "tengo", "tiene", "hacer", "a", "ha", "he", "han", "usted", "ustedes", "vosotros",
    "cuanto", "cuanta", "cuantos", "cuantas", "que", "qual", "ni", "sobre",
};

static int is_stop(const char *w)
{
    for (size_t i = 0; i < sizeof stop_words / sizeof *stop_words; i++)
        if (strcmp(w, stop_words[i]) == 0)
            return 1;
    return 0;
}

/* The ASCII letter a two-byte UTF-8 Latin-1 letter folds to, or 0. */
static char fold_latin1(unsigned char b1, unsigned char b2)
{
    if (b1 != 0xc3)
        return 0;
    static const char map[64] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts"
                                "aaaaaaaceeeeiiiidnooooo\0ouuuuyty";
    char c = map[b2 & 0x3f];
    return (b2 >= 0x80 && b2 <= 0xbf) ? c : 0;
}

static int ends(const char *w, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && memcmp(w + n - k, suf, k) == 0;
}

/* Strip plural and gender endings, then a few English verb endings. */
static size_t stem(char *w, size_t n)
{
    if (n > 4 && ends(w, n, "ies")) {
        w[n - 3] = 'y';
        n -= 2;
    } else if (n > 5 && (ends(w, n, "ciones") || ends(w, n, "siones"))) {
        n -= 2; /* devoluciones -> devolucion */
    } else if (n > 4 && ends(w, n, "es") && !ends(w, n, "ses")) {
        n -= 2;
    } else if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i') {
        n -= 1;
    }
    if (n > 5 && ends(w, n, "ing"))
        n -= 3;
    else if (n > 4 && ends(w, n, "ed"))
        n -= 2;
    /* Spanish gender and English silent e: pedido/pedida -> pedid, take/takes -> tak */
    if (n > 3 && (w[n - 1] == 'a' || w[n - 1] == 'o' || w[n - 1] == 'e'))
        n -= 1;
    w[n] = '\0';
    return n;
}

static int emit(char *w, size_t n, struct buf *out)
{
    w[n] = '\0';
    if (n == 0 || is_stop(w))
        return 0;
    n = stem(w, n);
    buf_append(out, w, n);
    buf_putc(out, '\n');
    return 1;
}

int assistant_terms(const char *text, struct buf *out)
{
    char w[TERM_MAX + 1];
    size_t n = 0;
    int count = 0, skip = 0;
    if (!text)
        return 0;
    for (const unsigned char *p = (const unsigned char *)text;; p++) {
        char c = 0;
        if (*p >= 'A' && *p <= 'Z')
            c = (char)(*p - 'A' + 'a');
        else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            c = (char)*p;
        else if (*p == 0xc3 && p[1]) {
            c = fold_latin1(p[0], p[1]);
            if (c)
                p++;
        } else if (*p == '\'' && n > 0) {
            continue; /* don't -> dont */
        }
        if (c) {
            if (n < TERM_MAX)
                w[n++] = c;
            else
                skip = 1; /* an absurdly long "word": not a term */
            continue;
        }
        if (n && !skip)
            count += emit(w, n, out);
        n = 0;
        skip = 0;
        if (!*p)
            break;
        /* other UTF-8 bytes (and their continuations) separate words */
    }
    return count;
}
