/*
 * fuzz_mime: arbitrary bytes as the fields of an outbound e-mail (split on
 * NUL: subject, sender name, recipient, text, HTML, In-Reply-To,
 * References, unsubscribe URL, an inline file's Content-ID, its bytes) fed
 * to the MIME builder, which takes them from API callers. Invariants: it
 * answers 0 or ERR_INVALID; on ERR_INVALID nothing was written; on 0 the
 * message has CRLF line endings only, no line over 998 bytes, and exactly
 * one header block line for each of From, To, Subject and Message-ID (a
 * line break smuggled into a field would add headers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int starts(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n >= k && strncasecmp(line, name, k) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    const char *field[10] = {0};
    struct channel__mime m;
    struct channel__mime_file f;
    struct buf out = {0};
    struct err e = {0};
    size_t nf = 0, start = 0;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && nf < 10; i++)
        if (i == size || copy[i] == '\0') {
            field[nf++] = copy + start;
            start = i + 1;
        }
    memset(&m, 0, sizeof m);
    m.from_email = "support@shop.example";
    m.subject = field[0];
    m.from_name = field[1];
    m.to = field[2] && *field[2] ? field[2] : "ana@example.net";
    m.text = field[3];
    m.html = field[4] && *field[4] ? field[4] : NULL;
    m.message_id = "<msg_1@shop.example>";
    m.in_reply_to = field[5];
    m.references = field[6];
    m.unsubscribe_url = field[7];
    m.date_ms = 1764700000000LL;
    if (field[8] && *field[8]) {
        f.filename = field[8];
        f.content_type = "image/png";
        f.content_id = field[8];
        f.data = field[9] ? field[9] : "";
        f.len = field[9] ? strlen(field[9]) : 0;
        m.files = &f;
        m.nfiles = 1;
    }
    int rc = channel__mime_build(&out, &m, &e);
    if (rc != 0 && rc != ERR_INVALID)
        abort();
    if (rc != 0 && out.len != 0)
        abort();
    if (rc == 0) {
        int from = 0, to = 0, subject = 0, msgid = 0;
        size_t line = 0, col = 0;
        int in_headers = 1;
        for (size_t i = 0; i < out.len; i++) {
            if (out.data[i] == '\n')
                abort(); /* a bare LF */
            if (out.data[i] != '\r') {
                if (++col > 998)
                    abort();
                continue;
            }
            if (i + 1 >= out.len || out.data[i + 1] != '\n')
                abort(); /* a bare CR */
            if (in_headers) {
                const char *l = out.data + line;
                size_t n = i - line;
                if (n == 0)
                    in_headers = 0;
                from += starts(l, n, "From:");
                to += starts(l, n, "To:");
                subject += starts(l, n, "Subject:");
                msgid += starts(l, n, "Message-ID:");
                if (n && l[0] != ' ' && l[0] != '\t' && !memchr(l, ':', n))
                    abort(); /* a header line that is neither a field nor a continuation */
            }
            i++;
            line = i + 1;
            col = 0;
        }
        if (from != 1 || to != 1 || subject != 1 || msgid != 1 || in_headers)
            abort();
    }
    buf_free(&out);
    free(copy);
    return 0;
}
