/*
 * assistant_safety: the pure checks around an answer. What a customer wrote
 * is checked for prompt injection and abuse before it reaches a model; what
 * the assistant would answer is checked for another person's contact data,
 * links and prices it did not get from the knowledge base, advice the
 * tenant forbids, and length; logs are redacted.
 *
 * Words are compared after normalising: lower-cased, Latin-1 accents
 * folded, apostrophes inside a word dropped ("I'll" -> "ill"), letters and
 * digits split ("500mg" -> "500 mg"), every other character a separator,
 * and sentence ends ('.', '!', '?', ';', new lines) kept as a "." word
 * that no pattern crosses. Patterns match whole words, so "class" never
 * hits a word list and "Scunthorpe" is one word. Phone numbers, e-mail
 * addresses, card numbers, links and prices are found on the raw text by
 * the scanners of assistant_scan.c (redaction lives there too).
 *
 * Nothing here allocates beyond local buffers or keeps state between
 * calls: every function is safe from any thread. A verdict's reason names
 * the rule, never the customer's words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"

/* ============================================================== words */

#define BOUNDARY "."

struct words {
    struct buf text;              /* each word NUL-terminated */
    size_t *off;                  /* where each word starts in text */
    int n, cap;
};

static void words_free(struct words *w)
{
    buf_free(&w->text);
    free(w->off);
    memset(w, 0, sizeof *w);
}

static void words_start(struct words *w)
{
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 64;
        size_t *off = realloc(w->off, (size_t)cap * sizeof *off);
        if (!off)
            abort(); /* as struct buf does */
        w->off = off;
        w->cap = cap;
    }
    w->off[w->n++] = w->text.len;
}

static const char *word_at(const struct words *w, int i)
{
    return w->text.data + w->off[i];
}

static int is_boundary(const struct words *w, int i)
{
    return strcmp(word_at(w, i), BOUNDARY) == 0;
}

static void add_boundary(struct words *w)
{
    if (w->n && is_boundary(w, w->n - 1))
        return;
    words_start(w);
    buf_append(&w->text, BOUNDARY, 2);
}

/* The ASCII letter a Latin-1 letter (U+00C0..U+00FF, UTF-8 C3 80..BF)
 * folds to, or 0 (× and ÷ are not letters). */
static char fold_c3(unsigned char b2)
{
    static const char map[64] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts"
                                "aaaaaaaceeeeiiiidnooooo\0ouuuuyty";
    return b2 >= 0x80 && b2 <= 0xbf ? map[b2 - 0x80] : 0;
}

/* The class of the character at p (1 letter, 2 digit, 3 another script's
 * letter kept as bytes, 0 separator), its folded ASCII form in *f (class
 * 1 and 2) and its length in bytes. */
static int char_class(const unsigned char *p, char *f, size_t *len)
{
    *len = 1;
    *f = 0;
    if (p[0] < 0x80) {
        if (assistant__is_alpha(p[0]) || assistant__is_digit(p[0])) {
            *f = assistant__lower(p[0]);
            return assistant__is_digit(p[0]) ? 2 : 1;
        }
        return 0;
    }
    size_t n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 1;
    for (size_t k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0; /* broken sequence: one separator byte */
    *len = n;
    if (n == 1)
        return 0;
    if (p[0] == 0xc3) {
        *f = fold_c3(p[1]);
        return *f ? 1 : 0;
    }
    if (p[0] == 0xc2 || (p[0] == 0xe2 && p[1] >= 0x80 && p[1] <= 0x81) || (p[0] == 0xe3 && p[1] == 0x80))
        return 0; /* Latin-1 punctuation (¿ ¡ « » NBSP), general punctuation, CJK punctuation */
    return 3;
}

static int is_apostrophe(const unsigned char *p, size_t *len)
{
    if (p[0] == '\'') {
        *len = 1;
        return 1;
    }
    if (p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0x99) { /* ’ */
        *len = 3;
        return 1;
    }
    return 0;
}

/* Split text into normalised words (see the header comment). The first
 * word is always a boundary, so "^" can match the start. */
static void words_build(struct words *w, const char *text)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    int in = 0; /* class of the word being built, 0 when none */
    add_boundary(w);
    while (*p) {
        char f;
        size_t len, alen;
        int cls = char_class(p, &f, &len);
        if (cls) {
            int kind = cls == 2 ? 2 : 1;
            if (in && in != kind) {
                buf_putc(&w->text, '\0');
                in = 0;
            }
            if (!in) {
                words_start(w);
                in = kind;
            }
            if (f)
                buf_putc(&w->text, f);
            else
                buf_append(&w->text, p, len);
            p += len;
            continue;
        }
        if (in == 1 && is_apostrophe(p, &alen)) {
            char f2;
            size_t l2;
            if (char_class(p + alen, &f2, &l2) == 1 || char_class(p + alen, &f2, &l2) == 3) {
                p += alen; /* don't -> dont */
                continue;
            }
        }
        if (in) {
            buf_putc(&w->text, '\0');
            in = 0;
        }
        unsigned char c = *p;
        if (c == '!' || c == '?' || c == ';' || c == '\n' || c == '\r' ||
            (c == '.' && (!p[1] || p[1] == ' ' || p[1] == '\t' || p[1] == '\n' || p[1] == '\r')))
            add_boundary(w);
        p += len;
    }
    if (in)
        buf_putc(&w->text, '\0');
}

/* ======================================================= word patterns */

/* A pattern is words separated by spaces. A word is alternatives joined
 * by '|'; an alternative ending in '*' is a prefix; "#" is a number
 * (digits or a number word); "^" is a sentence start; "~N" skips 0..N
 * words (never a sentence end). */

static int is_number_word(const char *w)
{
    static const char *const nums[] = {"one",  "two",  "three", "four",  "five",  "six",   "seven", "eight",
                                       "nine", "ten",  "half",  "a",     "an",    "un",    "uno",   "una",
                                       "dos",  "tres", "cuatro", "cinco", "seis", "siete", "ocho",  "nueve",
                                       "diez", "media"};
    if (assistant__is_digit((unsigned char)*w))
        return 1;
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        if (strcmp(w, nums[i]) == 0)
            return 1;
    return 0;
}

static int alt_match(const char *w, const char *alt, size_t n)
{
    if (alt[0] != w[0] && alt[0] != '#')
        return 0; /* most words fail here, before any length is taken */
    if (n == 1 && alt[0] == '#')
        return is_number_word(w);
    if (n > 1 && alt[n - 1] == '*')
        return strncmp(w, alt, n - 1) == 0;
    return strlen(w) == n && memcmp(w, alt, n) == 0;
}

static int tok_match(const char *w, const char *tok, size_t n)
{
    while (n) {
        const char *bar = memchr(tok, '|', n);
        size_t an = bar ? (size_t)(bar - tok) : n;
        if (alt_match(w, tok, an))
            return 1;
        if (!bar)
            break;
        n -= an + 1;
        tok = bar + 1;
    }
    return 0;
}

/* The index after a match of p at word i, or -1. */
static int match_from(const struct words *w, int i, const char *p)
{
    while (*p == ' ')
        p++;
    if (!*p)
        return i;
    size_t n = strcspn(p, " ");
    if (p[0] == '~' && n == 2) {
        int gap = p[1] - '0';
        for (int k = 0; k <= gap && i + k <= w->n; k++) {
            if (k > 0 && is_boundary(w, i + k - 1))
                break;
            int r = match_from(w, i + k, p + n);
            if (r >= 0)
                return r;
        }
        return -1;
    }
    if (i >= w->n)
        return -1;
    if (p[0] == '^' && n == 1)
        return is_boundary(w, i) ? match_from(w, i + 1, p + n) : -1;
    if (is_boundary(w, i) || !tok_match(word_at(w, i), p, n))
        return -1;
    return match_from(w, i + 1, p + n);
}

struct rule {
    const char *pattern;
    const char *reason;           /* what the verdict says */
    int negatable;                /* a mention that "we cannot give …" makes harmless */
};

/* Words that, in the three before a mention, turn it into a refusal. */
static int negated(const struct words *w, int start)
{
    static const char *const neg[] = {"not",   "no",   "never", "cannot", "cant", "dont", "wont",
                                      "unable", "nor", "ni",    "nunca",  "jamas"};
    for (int i = start - 1; i >= 0 && i >= start - 3 && !is_boundary(w, i); i--)
        for (size_t k = 0; k < sizeof neg / sizeof *neg; k++)
            if (strcmp(word_at(w, i), neg[k]) == 0)
                return 1;
    return 0;
}

/* The first rule matching anywhere in w, or NULL. */
static const struct rule *find_rule(const struct words *w, const struct rule *rules, size_t nrules)
{
    for (int i = 0; i < w->n; i++)
        for (size_t r = 0; r < nrules; r++)
            if (match_from(w, i, rules[r].pattern) >= 0 && !(rules[r].negatable && negated(w, i)))
                return &rules[r];
    return NULL;
}

/* ========================================================= the input */

#define R_OVERRIDE "matched an instruction-override phrase"
#define R_ROLE "matched a role-change phrase"
#define R_EXTRACT "matched a prompt-extraction phrase"
#define R_JAILBREAK "matched a jailbreak phrase"
#define R_ABUSE "matched an abusive word"
#define R_THREAT "matched a threat"

#define EN_IGNORE "ignore|ignoring|disregard|disregarding|forget|override|bypass"
#define EN_EARLIER "previous|prior|above|earlier|preceding|former|initial|original|existing|system"
#define EN_ORDERS "instruc*|prompt*|rule*|direction*|guideline*|command*|programming|restriction*|filter*"
#define YOU_NOW "a|an|the|my|in|no|not|free|dan|unrestricted|unfiltered|jailbroken|evil|developer|going"
#define ES_IGNORE "ignora|ignore|ignorar|ignoren|olvida|olvide|olvidate|olvidar|olviden|descarta|omite|omitir"
#define ES_ORDERS "instruc*|regla*|indicacion*|norma*|directriz|directrices|prompt*"
#define ES_EARLIER "anterior*|previa*|previo*|arriba|inicial*|original*"

static const struct rule injection_rules[] = {
    {EN_IGNORE " ~3 " EN_EARLIER " " EN_ORDERS, R_OVERRIDE, 0},
    {EN_IGNORE " ~1 your|all|any " EN_ORDERS, R_OVERRIDE, 0},
    {"your new instruc* are|is", R_OVERRIDE, 0},
    {"these are your new instruc*|rules", R_OVERRIDE, 0},
    {"new system prompt*|instruc*", R_OVERRIDE, 0},
    {ES_IGNORE " ~3 " ES_ORDERS " ~1 " ES_EARLIER, R_OVERRIDE, 0},
    {ES_IGNORE " ~3 " ES_EARLIER " " ES_ORDERS, R_OVERRIDE, 0},
    {ES_IGNORE " ~2 tus|sus " ES_ORDERS, R_OVERRIDE, 0},
    {"you are now " YOU_NOW, R_ROLE, 0},
    {"youre now " YOU_NOW, R_ROLE, 0},
    {"from now on you are|act|must", R_ROLE, 0},
    {"from now on you will be|act|respond|answer|only", R_ROLE, 0},
    {"you ~1 act as", R_ROLE, 0},
    {"^ act as", R_ROLE, 0},
    {"^ please|now|just|so act as", R_ROLE, 0},
    {"pretend to be", R_ROLE, 0},
    {"pretend ~1 you are|youre", R_ROLE, 0},
    {"roleplay as", R_ROLE, 0},
    {"role play as", R_ROLE, 0},
    {"ahora eres|sos|seras un|una|mi|el|la|libre|dan", R_ROLE, 0},
    {"a partir de ahora eres|seras|actua*|actue*|responde*", R_ROLE, 0},
    {"^ actua|actue como", R_ROLE, 0},
    {"^ ahora|favor actua|actue como", R_ROLE, 0},
    {"que actues|actue como", R_ROLE, 0},
    {"finge|fingir|finja|finjas ser", R_ROLE, 0},
    {"finge|fingir|finja|finjas ~1 que eres", R_ROLE, 0},
    {"hazte|hagase pasar por", R_ROLE, 0},
    {"system prompt*", R_EXTRACT, 0},
    {"initial|hidden|secret prompt|prompts", R_EXTRACT, 0},
    {"show|tell|give ~2 your prompt|prompts", R_EXTRACT, 0},
    {"reveal|leak|dump|disclose ~2 your|the instruc*|prompt*|rules|guidelines|programming", R_EXTRACT, 0},
    {"print|output|repeat ~2 your instruc*|prompt*|rules|guidelines|programming", R_EXTRACT, 0},
    {"print|output|repeat ~2 the prompt*", R_EXTRACT, 0},
    {"repeat ~2 everything|words|text above", R_EXTRACT, 0},
    {"muestra|muestrame|muestreme|revela|revelame|reveleme|dime|digame|ensename|imprime|repite ~2 tu|tus|el "
     "prompt*|instruc*|reglas|indicaciones",
     R_EXTRACT, 0},
    {"prompt*|mensaje del sistema", R_EXTRACT, 0},
    {"developer|dev|god|dan mode", R_JAILBREAK, 0},
    {"modo desarrollador|dios|dan", R_JAILBREAK, 0},
    {"jailbreak*", R_JAILBREAK, 0},
    {"do anything now", R_JAILBREAK, 0},
};

static const struct rule abuse_rules[] = {
    {"fuck|fucking|fucker|fuckers|fucked|fuckin|fck|fuk|motherfucker*|stfu|cunt|cunts|bitch|bitches|asshole|"
     "assholes|arsehole*|dickhead*|bastard|bastards|whore*|slut|sluts|retard|retarded|retards|faggot*|nigger*|"
     "twat|twats|wanker*",
     R_ABUSE, 0},
    {"puta|putas|puto|putos|hijueputa*|hijoputa*|gilipollas|cabron|cabrona|cabrones|pendejo|pendeja|pendejos|"
     "pendejas|malparido*|malparida*|imbecil|imbeciles|maricon|maricones|chingada|chingado",
     R_ABUSE, 0},
    {"hijo|hija de puta", R_ABUSE, 0},
    {"vete a la mierda", R_ABUSE, 0},
    {"vete al carajo", R_ABUSE, 0},
    {"concha de tu madre", R_ABUSE, 0},
    {"chinga tu madre", R_ABUSE, 0},
    {"i|im|ill|we|gonna ~3 kill|murder|shoot|stab you|ya|u", R_THREAT, 0},
    {"kill yourself", R_THREAT, 0},
    {"kys", R_THREAT, 0},
    {"you will die", R_THREAT, 0},
    {"youll die", R_THREAT, 0},
    {"you|youre ~2 going to die", R_THREAT, 0},
    {"you are dead", R_THREAT, 0},
    {"youre dead", R_THREAT, 0},
    {"i know where you live", R_THREAT, 0},
    {"burn ~2 your|the store|shop|house|office|building|place down", R_THREAT, 0},
    {"burn down ~1 your store|shop|house|office|building|place", R_THREAT, 0},
    {"te|os|los|la|lo voy|vamos a matar", R_THREAT, 0},
    {"voy|vamos a matarte|matarlos|matarla|matarlo|mataros", R_THREAT, 0},
    {"te mato", R_THREAT, 0},
    {"se donde vives", R_THREAT, 0},
    {"matate", R_THREAT, 0},
    {"quemar|quemare|quemaremos|quemo ~2 tu|su|la tienda|local|casa|oficina", R_THREAT, 0},
};

/* Chat-template tokens anywhere, and role markers ("system:",
 * "### Instruction") at the start of a line. */
static int raw_markers(const char *text)
{
    static const char *const tokens[] = {"<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>", "<|assistant|>",
                                         "<|endoftext|>", "[inst]", "[/inst]", "<<sys>>", "<</sys>>",
                                         "<|begin_of_text|>", "<|start_header_id|>"};
    static const char *const roles[] = {"system", "assistant", "developer", "sistema", "asistente"};
    static const char *const headings[] = {"instruction", "instructions", "system", "response", "input",
                                           "instruccion", "instrucciones", "sistema", "respuesta"};
    for (const char *p = text; *p; p++) {
        if (*p == '<' || *p == '[')
            for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
                if (assistant__ci_prefix(p, tokens[i]))
                    return 1;
        if (p != text && p[-1] != '\n' && p[-1] != '\r')
            continue;
        const char *q = p;
        int hashes = 0;
        char w[16];
        size_t n = 0;
        while (*q == ' ' || *q == '\t')
            q++;
        while (*q == '#')
            q++, hashes++;
        while (*q == ' ' || *q == '\t' || *q == '[' || *q == '<')
            q++;
        while (assistant__is_alpha((unsigned char)*q) && n < sizeof w - 1)
            w[n++] = assistant__lower((unsigned char)*q++);
        w[n] = '\0';
        if (!n || assistant__is_alpha((unsigned char)*q))
            continue;
        for (size_t i = 0; hashes >= 2 && i < sizeof headings / sizeof *headings; i++)
            if (strcmp(w, headings[i]) == 0)
                return 1;
        while (*q == ' ' || *q == '\t' || *q == ']' || *q == '>')
            q++;
        if (*q != ':')
            continue;
        for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
            if (strcmp(w, roles[i]) == 0)
                return 1;
    }
    return 0;
}

static void verdict_set(struct assistant_verdict *out, const char *code, const char *reason)
{
    out->ok = 0;
    snprintf(out->code, sizeof out->code, "%s", code);
    snprintf(out->reason, sizeof out->reason, "%s", reason);
}

static void verdict_ok(struct assistant_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->ok = 1;
}

void assistant_safety_input(const char *text, struct assistant_verdict *out)
{
    struct words w = {0};
    const struct rule *r;

    verdict_ok(out);
    if (!text)
        return;
    if (raw_markers(text)) {
        verdict_set(out, "prompt_injection", "matched a chat role marker or template token");
        return;
    }
    words_build(&w, text);
    if ((r = find_rule(&w, injection_rules, sizeof injection_rules / sizeof *injection_rules)))
        verdict_set(out, "prompt_injection", r->reason);
    else if ((r = find_rule(&w, abuse_rules, sizeof abuse_rules / sizeof *abuse_rules)))
        verdict_set(out, "abuse", r->reason);
    words_free(&w);
}

/* ============================================================ the output */

/* Values an answer may use, each line one value. */
struct known {
    struct buf phones, emails, cards, urls, prices;
};

static void known_free(struct known *k)
{
    buf_free(&k->phones);
    buf_free(&k->emails);
    buf_free(&k->cards);
    buf_free(&k->urls);
    buf_free(&k->prices);
}

static void list_add(struct buf *b, const char *s, size_t n)
{
    buf_append(b, s, n);
    buf_putc(b, '\n');
}

/* A link as compared: host lower-cased without "www.", the rest as
 * written, trailing slashes dropped. */
static void url_norm(const char *s, size_t n, struct buf *out)
{
    size_t i = 0;
    if (n >= 8 && assistant__ci_prefix(s, "https://"))
        i = 8;
    else if (n >= 7 && assistant__ci_prefix(s, "http://"))
        i = 7;
    if (n - i >= 4 && assistant__ci_prefix(s + i, "www."))
        i += 4;
    for (; i < n && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++)
        buf_putc(out, assistant__lower((unsigned char)s[i]));
    while (n > i && s[n - 1] == '/')
        n--;
    buf_append(out, s + i, n - i);
}

static void email_norm(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++)
        buf_putc(out, assistant__lower((unsigned char)s[i]));
}

static int add_known(void *ud, const char *text, const struct assistant__item *it)
{
    struct known *k = ud;
    struct buf v = {0};
    switch (it->kind) {
    case ASSISTANT__ITEM_URL: url_norm(text + it->start, it->end - it->start, &v); break;
    case ASSISTANT__ITEM_EMAIL: email_norm(text + it->start, it->end - it->start, &v); break;
    default: buf_puts(&v, it->digits); break;
    }
    struct buf *list = it->kind == ASSISTANT__ITEM_URL ? &k->urls : it->kind == ASSISTANT__ITEM_EMAIL ? &k->emails
                       : it->kind == ASSISTANT__ITEM_CARD                                ? &k->cards
                                                                              : &k->phones;
    list_add(list, v.data ? v.data : "", v.len);
    buf_free(&v);
    return 0;
}

static int add_price(void *ud, const char *amount)
{
    list_add(&((struct known *)ud)->prices, amount, strlen(amount));
    return 0;
}

/* Two phone numbers are the same when their digits are, leading zeros
 * aside, or one ends with the other's seven or more (a number with and
 * without its country code: +1 555 123 4567 and (555) 123-4567). */
static int same_phone(const char *a, size_t an, const char *b, size_t bn)
{
    while (an && *a == '0')
        a++, an--;
    while (bn && *b == '0')
        b++, bn--;
    if (an > bn) {
        const char *t = a;
        size_t tn = an;
        a = b, an = bn, b = t, bn = tn;
    }
    if (an == bn)
        return memcmp(a, b, an) == 0;
    return an >= 7 && memcmp(a, b + bn - an, an) == 0;
}

/* A URL is allowed when it is a known one or a prefix of one that ends
 * at a path boundary. */
static int url_allowed(const char *u, size_t un, const char *k, size_t kn)
{
    return kn >= un && memcmp(u, k, un) == 0 && (kn == un || k[un] == '/' || k[un] == '?' || k[un] == '#');
}

static int list_has(const struct buf *list, enum assistant__item_kind kind, const char *v, size_t vn)
{
    const char *p = list->data, *end = list->data + list->len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)(nl - p);
        int hit = kind == ASSISTANT__ITEM_PHONE ? same_phone(v, vn, p, n)
                  : kind == ASSISTANT__ITEM_URL ? url_allowed(v, vn, p, n)
                                     : n == vn && memcmp(p, v, n) == 0;
        if (hit)
            return 1;
        p = nl + 1;
    }
    return 0;
}

struct checker {
    const struct known *k;
    struct assistant_verdict *out;
};

static int check_item(void *ud, const char *text, const struct assistant__item *it)
{
    struct checker *c = ud;
    struct buf v = {0};
    int ok;
    switch (it->kind) {
    case ASSISTANT__ITEM_URL:
        url_norm(text + it->start, it->end - it->start, &v);
        ok = list_has(&c->k->urls, ASSISTANT__ITEM_URL, v.data ? v.data : "", v.len);
        if (!ok)
            verdict_set(c->out, "unknown_url", "a link whose host and path are not in the knowledge base");
        break;
    case ASSISTANT__ITEM_EMAIL:
        email_norm(text + it->start, it->end - it->start, &v);
        ok = list_has(&c->k->emails, ASSISTANT__ITEM_EMAIL, v.data, v.len);
        if (!ok)
            verdict_set(c->out, "other_pii",
                        "an e-mail address that is neither the customer's nor in the knowledge base");
        break;
    case ASSISTANT__ITEM_CARD:
        ok = list_has(&c->k->cards, ASSISTANT__ITEM_CARD, it->digits, strlen(it->digits));
        if (!ok)
            verdict_set(c->out, "other_pii", "a card number that is neither the customer's nor in the knowledge base");
        break;
    default:
        ok = list_has(&c->k->phones, ASSISTANT__ITEM_PHONE, it->digits, strlen(it->digits));
        if (!ok)
            verdict_set(c->out, "other_pii", "a phone number that is neither the customer's nor in the knowledge base");
        break;
    }
    buf_free(&v);
    return !ok;
}

static int check_price(void *ud, const char *amount)
{
    struct checker *c = ud;
    if (list_has(&c->k->prices, ASSISTANT__ITEM_CARD, amount, strlen(amount))) /* ASSISTANT__ITEM_CARD: compared exactly */
        return 0;
    verdict_set(c->out, "forbidden_price", "a price that is not in the knowledge base (prices are forbidden)");
    return 1;
}

#define R_LEGAL "legal advice"
#define R_MEDICAL "medical advice"

static const struct rule legal_rules[] = {
    {"you ~3 sue", R_LEGAL ": telling the customer to sue", 0},
    {"sue them|the|him|her|your", R_LEGAL ": telling the customer to sue", 0},
    {"file|filing ~2 lawsuit*|suit", R_LEGAL ": telling the customer to file a lawsuit", 0},
    {"take|taking legal action", R_LEGAL ": telling the customer to take legal action", 0},
    {"you are entitled to ~2 compensation|damages", R_LEGAL ": an entitlement to compensation", 0},
    {"youre entitled to ~2 compensation|damages", R_LEGAL ": an entitlement to compensation", 0},
    {"you have a strong|good|solid case", R_LEGAL ": assessing a legal case", 0},
    {"you have a ~1 legal case|claim", R_LEGAL ": assessing a legal case", 0},
    {"small claims court", R_LEGAL ": telling the customer to go to court", 0},
    {"legal advice", R_LEGAL ": giving legal advice", 1},
    {"deberia|debe|puede|podria|deberias|puedes|debes ~1 demandar|denunciar", R_LEGAL ": telling the customer to sue",
     0},
    {"demandelos|demandalos|demandela|demandelo|demande", R_LEGAL ": telling the customer to sue", 0},
    {"presentar|interponer|poner ~2 demanda|denuncia|querella", R_LEGAL ": telling the customer to file a claim", 0},
    {"accion|acciones legal|legales|judicial|judiciales", R_LEGAL ": telling the customer to take legal action", 1},
    {"tiene|tienes|tienen derecho a ~2 indemnizacion|compensacion|danos", R_LEGAL ": an entitlement to compensation",
     0},
    {"asesoria|asesoramiento|consejo legal|juridico|juridica", R_LEGAL ": giving legal advice", 1},
};

static const struct rule medical_rules[] = {
    {"take|taking # ~2 tablet*|pill*|capsule*|mg|milligram*|ml|drops|dose*|doses|teaspoon*|puff*",
     R_MEDICAL ": a dose to take", 0},
    {"you ~3 stop taking", R_MEDICAL ": telling the customer to stop a medicine", 0},
    {"stop|start taking ~1 your|the|this|that medic*|pill*|tablet*|antibiotic*|insulin|drug*",
     R_MEDICAL ": telling the customer to stop or start a medicine", 0},
    {"increase|reduce|double|lower|raise ~1 your|the dose|dosage", R_MEDICAL ": changing a dose", 0},
    {"dosage", R_MEDICAL ": a dosage", 1},
    {"diagnosis", R_MEDICAL ": a diagnosis", 1},
    {"diagnosed with", R_MEDICAL ": a diagnosis", 0},
    {"medical advice", R_MEDICAL ": giving medical advice", 1},
    {"tome|toma|tomar|tomen|tomes # ~2 pastilla*|tableta*|comprimido*|capsula*|mg|miligramo*|ml|gota*|dosis|"
     "cucharada*",
     R_MEDICAL ": a dose to take", 0},
    {"deje|deja|dejar|dejes ~1 de tomar", R_MEDICAL ": telling the customer to stop a medicine", 0},
    {"aumente|aumenta|reduzca|reduce|duplique|baje ~1 la|su|tu dosis", R_MEDICAL ": changing a dose", 0},
    {"dosis", R_MEDICAL ": a dosage", 1},
    {"diagnostico|diagnosticar", R_MEDICAL ": a diagnosis", 1},
    {"consejo|asesoramiento|asesoria medico|medica", R_MEDICAL ": giving medical advice", 1},
};

static int is_blank_answer(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
            p++;
        else if (p[0] == 0xc2 && p[1] == 0xa0) /* NBSP */
            p += 2;
        else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0x8b || p[2] == 0xaf)) /* ZWSP, NNBSP */
            p += 3;
        else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) /* BOM */
            p += 3;
        else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) /* ideographic space */
            p += 3;
        else
            return 0;
    }
    return 1;
}

/* UTF-8 characters: bytes that do not continue a sequence. */
static long utf8_chars(const char *s)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

/* The first configured phrase found in w, as whole words, or -1. */
static int find_phrase(const struct words *w, const char *const *phrases, int nphrases)
{
    int found = -1;
    for (int f = 0; f < nphrases && found < 0; f++) {
        struct words ph = {0};
        if (!phrases[f])
            continue;
        words_build(&ph, phrases[f]);
        int first = 1; /* skip the leading boundary */
        int len = ph.n - first;
        while (len > 0 && is_boundary(&ph, first + len - 1))
            len--;
        for (int i = 0; len > 0 && i + len <= w->n && found < 0; i++) {
            int k = 0;
            while (k < len && strcmp(word_at(w, i + k), word_at(&ph, first + k)) == 0)
                k++;
            if (k == len)
                found = f;
        }
        words_free(&ph);
    }
    return found;
}

void assistant_safety_output(const char *answer, const struct assistant_output_rules *r,
                             struct assistant_verdict *out)
{
    const struct assistant_config *cfg = r ? r->cfg : NULL;
    struct known k = {{0}, {0}, {0}, {0}, {0}};
    struct checker c = {&k, out};
    struct words w = {0};
    const struct rule *hit;
    int ch;

    verdict_ok(out);
    if (!answer || is_blank_answer(answer)) {
        verdict_set(out, "empty", "the answer is empty");
        return;
    }
    /* What the answer may hold: the customer's own addresses and what the
     * passages say. */
    for (int i = 0; r && i < r->nown; i++) {
        const char *o = r->own[i];
        if (!o || !*o)
            continue;
        if (strchr(o, '@')) {
            struct buf v = {0};
            email_norm(o, strlen(o), &v);
            list_add(&k.emails, v.data, v.len);
            buf_free(&v);
        } else {
            char d[64];
            size_t n = 0;
            for (const char *p = o; *p && n < sizeof d; p++)
                if (assistant__is_digit((unsigned char)*p))
                    d[n++] = *p;
            if (n) {
                list_add(&k.phones, d, n);
                list_add(&k.cards, d, n);
            }
        }
    }
    for (int i = 0; r && i < r->npassages; i++) {
        const char *t = r->passages[i].text;
        if (!t)
            continue;
        assistant__scan_items(t, 1, add_known, &k);
        assistant__scan_prices(t, add_price, &k);
    }

    if (assistant__scan_items(answer, 1, check_item, &c))
        goto done;
    /* Prices: the knowledge base's own may be quoted, a made-up one not. */
    if (cfg && cfg->forbid_prices && assistant__scan_prices(answer, check_price, &c))
        goto done;
    words_build(&w, answer);
    if (cfg && cfg->forbid_legal && (hit = find_rule(&w, legal_rules, sizeof legal_rules / sizeof *legal_rules))) {
        verdict_set(out, "forbidden_legal", hit->reason);
        goto done;
    }
    if (cfg && cfg->forbid_medical &&
        (hit = find_rule(&w, medical_rules, sizeof medical_rules / sizeof *medical_rules))) {
        verdict_set(out, "forbidden_medical", hit->reason);
        goto done;
    }
    if (cfg) {
        int f = find_phrase(&w, cfg->forbidden_phrases, cfg->nforbidden);
        if (f >= 0) {
            char reason[sizeof out->reason];
            snprintf(reason, sizeof reason, "matched forbidden phrase %d of the configuration", f + 1);
            verdict_set(out, "forbidden_phrase", reason);
            goto done;
        }
    }
    ch = cfg && r ? assistant_channel_index(r->channel) : -1;
    if (ch >= 0 && cfg->max_length[ch] > 0) {
        long n = utf8_chars(answer);
        if (n > cfg->max_length[ch]) {
            char reason[sizeof out->reason];
            snprintf(reason, sizeof reason, "%ld characters, over the %s limit of %d", n, assistant_channel_names[ch],
                     cfg->max_length[ch]);
            verdict_set(out, "too_long", reason);
        }
    }
done:
    words_free(&w);
    known_free(&k);
}

const char *assistant_neutral_response(const char *language)
{
    if (language && (language[0] == 'e' || language[0] == 'E') && (language[1] == 's' || language[1] == 'S') &&
        (!language[2] || language[2] == '-' || language[2] == '_'))
        return "Gracias por tu mensaje. Una persona de nuestro equipo te responderá en breve.";
    return "Thanks for your message. A member of our team will get back to you shortly.";
}
