/*
 * media_sniff: what a file is, from its first bytes, and the type it is
 * stored and served with.
 *
 * The bytes decide, because the provider's claim is the sender's claim: a
 * customer (or a compromised account) can send HTML labelled image/jpeg,
 * and a dashboard that served it as HTML from our origin would run its
 * scripts. Recognised media keep their real type; markup becomes
 * application/octet-stream; text and unrecognised documents keep a claim
 * only when a browser would not render it. Everything here is pure.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "media/media.h"

#define SNIFF_TEXT_WINDOW 4096

static int has(const unsigned char *p, size_t n, size_t off, const char *magic, size_t mlen)
{
    return n >= off + mlen && memcmp(p + off, magic, mlen) == 0;
}

/* An ISO base media file (MP4, 3GP, QuickTime, M4A, HEIF): "ftyp" at 4. */
static const char *sniff_ftyp(const unsigned char *p, size_t n)
{
    if (!has(p, n, 4, "ftyp", 4) || n < 12)
        return NULL;
    const char *brand = (const char *)p + 8;
    if (memcmp(brand, "3gp", 3) == 0 || memcmp(brand, "3g2", 3) == 0)
        return "video/3gpp";
    if (memcmp(brand, "M4A ", 4) == 0 || memcmp(brand, "M4B ", 4) == 0)
        return "audio/mp4";
    if (memcmp(brand, "qt  ", 4) == 0)
        return "video/quicktime";
    if (memcmp(brand, "heic", 4) == 0 || memcmp(brand, "heix", 4) == 0 || memcmp(brand, "mif1", 4) == 0 ||
        memcmp(brand, "msf1", 4) == 0)
        return "image/heic";
    return "video/mp4";
}

/* An MPEG-1/2 audio frame header (MP3 without an ID3 tag). */
static int sniff_mpeg_frame(const unsigned char *p, size_t n)
{
    if (n < 4 || p[0] != 0xFF || (p[1] & 0xE0) != 0xE0)
        return 0;
    int version = (p[1] >> 3) & 3, layer = (p[1] >> 1) & 3;
    int bitrate = p[2] >> 4, rate = (p[2] >> 2) & 3;
    return version != 1 && layer != 0 && bitrate != 0 && bitrate != 15 && rate != 3;
}

/* Markup a browser would render or run: HTML, SVG, XML. */
static const char *sniff_markup(const unsigned char *p, size_t n)
{
    static const char *const tags[] = {"!doctype html", "html", "head", "body", "script", "iframe", "title",
                                       "style", "table", "div", "a", "p", "br", "h1", "font", "b", "img",
                                       "object", "embed", "meta", "link", "form", "!--"};
    size_t i = 0;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r' || p[i] == '\f'))
        i++;
    if (i >= n || p[i] != '<')
        return NULL;
    i++;
    if (n - i >= 4 && strncasecmp((const char *)p + i, "?xml", 4) == 0) {
        size_t w = n < 1024 ? n : 1024;
        for (size_t k = i; k + 4 <= w; k++)
            if (strncasecmp((const char *)p + k, "<svg", 4) == 0)
                return "image/svg+xml";
        return "text/xml";
    }
    if (n - i >= 3 && strncasecmp((const char *)p + i, "svg", 3) == 0 &&
        (n - i == 3 || p[i + 3] == ' ' || p[i + 3] == '>' || p[i + 3] == '\n' || p[i + 3] == '\t'))
        return "image/svg+xml";
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        size_t tl = strlen(tags[t]);
        if (n - i < tl || strncasecmp((const char *)p + i, tags[t], tl) != 0)
            continue;
        if (strcmp(tags[t], "!--") == 0)
            return "text/html";
        /* The tag name must end there: "<a " or "<a>", not "<abc". */
        if (n - i == tl || p[i + tl] == ' ' || p[i + tl] == '>' || p[i + tl] == '\t' || p[i + tl] == '\n' ||
            p[i + tl] == '\r' || p[i + tl] == '/')
            return "text/html";
    }
    return NULL;
}

/* UTF-8 text without control characters other than tab, newlines and form
 * feed, within the first SNIFF_TEXT_WINDOW bytes (a character cut by the
 * window's end is fine). */
static int sniff_text(const unsigned char *p, size_t n)
{
    size_t w = n < SNIFF_TEXT_WINDOW ? n : SNIFF_TEXT_WINDOW;
    for (size_t i = 0; i < w;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f')
                return 0;
            if (c == 0x7F)
                return 0;
            i++;
            continue;
        }
        size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || (c == 0xC0 || c == 0xC1 || c > 0xF4))
            return 0;
        for (size_t k = 1; k < len; k++) {
            if (i + k >= w)
                return n > w; /* cut by the window: fine; by the end of the file: not UTF-8 */
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
        }
        i += len;
    }
    return 1;
}

const char *media_sniff(const void *data, size_t n)
{
    const unsigned char *p = data;
    const char *t;

    if (!p || n == 0)
        return "application/octet-stream";
    if (has(p, n, 0, "\xFF\xD8\xFF", 3))
        return "image/jpeg";
    if (has(p, n, 0, "\x89PNG\r\n\x1A\n", 8))
        return "image/png";
    if (has(p, n, 0, "GIF87a", 6) || has(p, n, 0, "GIF89a", 6))
        return "image/gif";
    if (has(p, n, 0, "RIFF", 4) && has(p, n, 8, "WEBP", 4))
        return "image/webp";
    if (has(p, n, 0, "RIFF", 4) && has(p, n, 8, "WAVE", 4))
        return "audio/wav";
    if (has(p, n, 0, "%PDF-", 5))
        return "application/pdf";
    if ((t = sniff_ftyp(p, n)))
        return t;
    if (has(p, n, 0, "OggS", 4))
        return "audio/ogg";
    if (has(p, n, 0, "#!AMR-WB\n", 9))
        return "audio/amr-wb";
    if (has(p, n, 0, "#!AMR\n", 6))
        return "audio/amr";
    if (has(p, n, 0, "ID3", 3) || sniff_mpeg_frame(p, n))
        return "audio/mpeg";
    if (has(p, n, 0, "PK\x03\x04", 4))
        return "application/zip";
    if ((t = sniff_markup(p, n)))
        return t;
    if (sniff_text(p, n))
        return "text/plain";
    return "application/octet-stream";
}

/* The claim's "type/subtype", lower-case, without parameters; "" when it
 * is not a well-formed MIME type. */
static void claim_base(const char *claimed, char out[MEDIA_TYPE_MAX])
{
    size_t o = 0, slash = 0;
    out[0] = '\0';
    if (!claimed)
        return;
    while (*claimed == ' ')
        claimed++;
    for (; *claimed && *claimed != ';' && *claimed != ' '; claimed++) {
        unsigned char c = (unsigned char)*claimed;
        if (o + 1 >= MEDIA_TYPE_MAX || !(isalnum(c) || strchr("/.+-_", c))) {
            out[0] = '\0';
            return;
        }
        slash += c == '/';
        out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
    if (slash != 1 || out[0] == '/' || out[o - 1] == '/')
        out[0] = '\0';
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* A claimed type a browser might parse as markup or script: an XML
 * subtype ("xml", "+xml" suffix, made-up "xml…" names), anything "html",
 * "svg" or "script". Never kept. (Office documents' "openxmlformats" is fine.) */
static int markup_like(const char *base)
{
    const char *sub = strchr(base, '/');
    size_t n;

    sub = sub ? sub + 1 : base;
    n = strlen(sub);
    return strncmp(sub, "xml", 3) == 0 || (n >= 3 && strcmp(sub + n - 3, "xml") == 0) || strstr(sub, "html") != NULL ||
           strstr(sub, "svg") != NULL || strstr(sub, "script") != NULL;
}

void media_classify(const char *claimed, const void *data, size_t n, struct media_kind *out)
{
    static const char *const safe_text[] = {"text/plain", "text/csv", "text/vcard", "text/x-vcard", "text/calendar",
                                            NULL};
    /* application/ types a browser would render or run from our origin. */
    static const char *const unsafe_app[] = {"application/xhtml+xml", "application/xml", "application/javascript",
                                             "application/ecmascript", "application/x-javascript",
                                             "application/x-shockwave-flash", "application/octet-stream",
                                             "application/pdf", "application/vnd.mozilla.xul+xml", NULL};
    const char *sniffed = media_sniff(data, n);
    char base[MEDIA_TYPE_MAX];
    const char *ct;

    claim_base(claimed, base);
    memset(out, 0, sizeof(*out));
    if (strcmp(sniffed, "text/html") == 0 || strcmp(sniffed, "image/svg+xml") == 0 ||
        strcmp(sniffed, "text/xml") == 0) {
        ct = "application/octet-stream";
    } else if (strcmp(sniffed, "text/plain") == 0) {
        ct = in_list(base, safe_text) ? base : "text/plain";
    } else if (strcmp(sniffed, "application/octet-stream") == 0 || strcmp(sniffed, "application/zip") == 0) {
        /* Office documents are zip files; others we cannot recognise keep a
         * harmless claim (they are always attachments). */
        ct = strncmp(base, "application/", 12) == 0 && !in_list(base, unsafe_app) && !markup_like(base)
                 ? base
                 : sniffed;
    } else {
        ct = sniffed;
        out->inline_ok = strncmp(ct, "image/", 6) == 0 || strncmp(ct, "audio/", 6) == 0 ||
                         strncmp(ct, "video/", 6) == 0;
    }
    snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
    out->overridden = base[0] && strcmp(base, ct) != 0;
}

const char *media_type_from_name(const char *name)
{
    static const struct {
        const char *ext, *type;
    } map[] = {
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".png", "image/png"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".bmp", "image/bmp"},
        {".heic", "image/heic"},
        {".pdf", "application/pdf"},
        {".mp4", "video/mp4"},
        {".3gp", "video/3gpp"},
        {".mov", "video/quicktime"},
        {".webm", "video/webm"},
        {".mp3", "audio/mpeg"},
        {".ogg", "audio/ogg"},
        {".opus", "audio/ogg"},
        {".oga", "audio/ogg"},
        {".amr", "audio/amr"},
        {".m4a", "audio/mp4"},
        {".aac", "audio/aac"},
        {".wav", "audio/wav"},
        {".vcf", "text/vcard"},
        {".txt", "text/plain"},
        {".csv", "text/csv"},
        {".ics", "text/calendar"},
        {".doc", "application/msword"},
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {".xls", "application/vnd.ms-excel"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {".ppt", "application/vnd.ms-powerpoint"},
        {".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {".zip", "application/zip"},
    };
    if (!name)
        return NULL;
    size_t n = strcspn(name, "?#");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t el = strlen(map[i].ext);
        if (n > el && strncasecmp(name + n - el, map[i].ext, el) == 0 && name[n - el - 1] != '/')
            return map[i].type;
    }
    return NULL;
}

int media_type_allowed(const char *list, const char *type)
{
    char base[MEDIA_TYPE_MAX];
    claim_base(type, base);
    if (!list || !base[0])
        return 0;
    size_t bl = strlen(base);
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        size_t l = strcspn(p, " ");
        if ((l == bl && strncasecmp(p, base, l) == 0) || (l == 3 && strncmp(p, "*/*", 3) == 0))
            return 1; /* a lone star pair: the channel takes any type (e-mail attachments) */
        p += l;
    }
    return 0;
}

const char *media_type_ext(const char *type)
{
    static const struct {
        const char *type, *ext;
    } map[] = {
        {"image/jpeg", "jpg"},      {"image/png", "png"},     {"image/gif", "gif"},       {"image/webp", "webp"},
        {"image/heic", "heic"},     {"image/bmp", "bmp"},     {"application/pdf", "pdf"}, {"video/mp4", "mp4"},
        {"video/3gpp", "3gp"},      {"video/quicktime", "mov"}, {"audio/mp4", "m4a"},     {"audio/ogg", "ogg"},
        {"audio/mpeg", "mp3"},      {"audio/amr", "amr"},     {"audio/amr-wb", "awb"},    {"audio/wav", "wav"},
        {"audio/aac", "aac"},       {"text/plain", "txt"},    {"text/csv", "csv"},        {"text/vcard", "vcf"},
        {"text/x-vcard", "vcf"},    {"text/calendar", "ics"}, {"application/zip", "zip"},
        {"application/msword", "doc"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
        {"application/vnd.ms-excel", "xls"},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
        {"application/vnd.ms-powerpoint", "ppt"},
        {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
    };
    for (size_t i = 0; type && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(map[i].type, type) == 0)
            return map[i].ext;
    return "bin";
}
