/*
 * assistant_extractive: the offline provider, and the answer path that
 * puts it behind the LLM.
 *
 * The extractive answerer never writes a word of its own: it answers with
 * the retrieved passage(s) that clear the retrieval-score threshold and
 * hold enough of the question's content terms (assistant_terms), and
 * otherwise hands over, saying why. A knowledge-base Q/A chunk
 * ("Q: …\nA: …") answers with its A part. Deterministic: the same
 * passages and question give the same answer and the same reason.
 *
 * assistant_answer tries the configured LLM through the circuit breaker
 * and falls back to the extractive answerer on any failure; it reports who
 * answered, tokens, latency and the fallback reason.
 */
#include <stdio.h>
#include <string.h>

#include "assistant/assistant_int.h"

#define EXTRACT_DEFAULT_COVERAGE 0.5

void assistant_extract_result_free(struct assistant_extract_result *r)
{
    if (r)
        buf_free(&r->text);
}

/* 1 when term (without its '\n') is one of the lines of set. */
int assistant__has_line(const struct buf *set, const char *term, size_t n)
{
    const char *p = set->data, *end = set->data + set->len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if ((size_t)(nl - p) == n && memcmp(p, term, n) == 0)
            return 1;
        p = nl + 1;
    }
    return 0;
}

/* The question's distinct terms, as lines. */
static int unique_terms(const char *text, struct buf *out)
{
    struct buf all = {0};
    int n = 0;
    assistant_terms(text, &all);
    const char *p = all.data, *end = all.data + all.len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (!assistant__has_line(out, p, (size_t)(nl - p))) {
            buf_append(out, p, (size_t)(nl - p) + 1);
            n++;
        }
        p = nl + 1;
    }
    buf_free(&all);
    return n;
}

/* Share of q's terms (nq of them) found in the passage's title and text. */
static double coverage(const struct buf *q, int nq, const struct assistant_passage *ps)
{
    struct buf pt = {0};
    int hit = 0;
    assistant_terms(ps->title, &pt);
    assistant_terms(ps->text, &pt);
    const char *p = q->data, *end = q->data + q->len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        hit += assistant__has_line(&pt, p, (size_t)(nl - p));
        p = nl + 1;
    }
    buf_free(&pt);
    return nq ? (double)hit / nq : 0;
}

/* The answer part of a passage: after "A: " in a Q/A chunk, else all of it. */
static void answer_text(const char *text, struct buf *out)
{
    const char *a = NULL;
    if (text && strncmp(text, "Q:", 2) == 0) {
        a = strstr(text, "\nA:");
        if (a) {
            a += 3;
            while (*a == ' ')
                a++;
        }
    }
    buf_puts(out, a ? a : text ? text : "");
}

int assistant_extract(const struct assistant_passage *passages, int n, const char *question,
                      const struct assistant_extract_config *cfg, struct assistant_extract_result *out,
                      struct err *e)
{
    struct buf q = {0};
    double min_cov = cfg && cfg->min_coverage > 0 ? cfg->min_coverage : EXTRACT_DEFAULT_COVERAGE;
    double min_score = cfg ? cfg->min_score : 0;
    int max = cfg && cfg->max_passages > 0 ? cfg->max_passages : 1;

    buf_reset(&out->text);
    out->answered = 0;
    out->nused = 0;
    out->top_score = 0;
    out->coverage = 0;
    out->reason[0] = '\0';
    if (min_cov > 1 || max > ASSISTANT_EXTRACT_USED_MAX || n < 0 || (n > 0 && !passages))
        return err_set(e, ERR_INVALID, NULL, "coverage must be in (0, 1] and passages 1..%d",
                       ASSISTANT_EXTRACT_USED_MAX);
    int nq = unique_terms(question, &q);
    if (nq == 0) {
        snprintf(out->reason, sizeof out->reason, "the question has no content words");
        goto out;
    }
    if (n == 0) {
        snprintf(out->reason, sizeof out->reason, "no passage was retrieved");
        goto out;
    }
    out->top_score = passages[0].score;
    if (passages[0].score < min_score) {
        snprintf(out->reason, sizeof out->reason, "the best passage scored %.3g, under the threshold %.3g",
                 passages[0].score, min_score);
        goto out;
    }
    double best = -1;
    for (int i = 0; i < n && out->nused < max; i++) {
        if (passages[i].score < min_score)
            break; /* best first: the rest score lower */
        double c = coverage(&q, nq, &passages[i]);
        if (c > best)
            best = c;
        if (c < min_cov)
            continue;
        if (out->nused == 0)
            out->coverage = c;
        else
            buf_puts(&out->text, "\n\n");
        answer_text(passages[i].text, &out->text);
        out->used[out->nused++] = passages[i].chunk_id;
    }
    if (out->nused == 0) {
        out->coverage = best;
        snprintf(out->reason, sizeof out->reason,
                 "no passage holds enough of the question: best coverage %.2f, needed %.2f", best, min_cov);
        goto out;
    }
    out->answered = 1;
    snprintf(out->reason, sizeof out->reason, "%d passage(s) cover %.2f of the question's %d term(s), score %.3g",
             out->nused, out->coverage, nq, out->top_score);
out:
    buf_free(&q);
    return 0;
}

/* ------------------------------------------------------------ answering */

void assistant_answer_free(struct assistant_answer *a)
{
    if (a)
        buf_free(&a->text);
}

/* Whether a failed call says something about the provider's health (a
 * refused request, or a caller that cancelled, does not). */
static int counts_against_provider(const struct err *e)
{
    if (e->code == ERR_INVALID)
        return 0;
    return 1;
}

int assistant_answer(const struct assistant_answer_config *cfg, const struct assistant_llm_request *req,
                     const char *question, const struct assistant_passage *passages, int npassages,
                     struct assistant_answer *out, struct err *e)
{
    int rc = 0;
    int64_t t0 = time_mono_ns();
    struct assistant_llm_result lr = {0};
    struct assistant_extract_result xr = {0};
    struct err le;

    buf_reset(&out->text);
    out->provider = "handover";
    out->model[0] = '\0';
    out->prompt_tokens = out->completion_tokens = -1;
    out->llm_latency_ms = 0;
    out->fallback_reason[0] = '\0';
    out->nused = 0;
    if (!cfg)
        return err_set(e, ERR_INVALID, NULL, "assistant_answer needs a configuration");

    err_clear(&le);
    if (!cfg->llm || !req) {
        snprintf(out->fallback_reason, sizeof out->fallback_reason, "no LLM is configured");
    } else {
        const char *key = cfg->breaker_key ? cfg->breaker_key : cfg->llm->base_url;
        if (cfg->breaker && assistant_breaker_allow(cfg->breaker, key, &le) != 0) {
            snprintf(out->fallback_reason, sizeof out->fallback_reason, "%.40s: %.150s", err_slug(&le), le.msg);
        } else {
            int lrc = assistant_llm_chat(cfg->llm, req, &lr, &le);
            out->llm_latency_ms = lr.latency_ms;
            if (cfg->breaker)
                assistant_breaker_record(cfg->breaker, key, lrc == 0 || !counts_against_provider(&le));
            if (lrc == 0) {
                out->provider = "llm";
                buf_append(&out->text, lr.content.data ? lr.content.data : "", lr.content.len);
                snprintf(out->model, sizeof out->model, "%s", lr.model);
                out->prompt_tokens = lr.prompt_tokens;
                out->completion_tokens = lr.completion_tokens;
                goto out;
            }
            snprintf(out->fallback_reason, sizeof out->fallback_reason, "%.40s: %.150s", err_slug(&le), le.msg);
        }
    }

    rc = assistant_extract(passages, npassages, question, cfg->extract, &xr, e);
    if (rc)
        goto out;
    for (int i = 0; i < xr.nused; i++)
        out->used[i] = xr.used[i];
    out->nused = xr.nused;
    if (xr.answered) {
        out->provider = "extractive";
        buf_append(&out->text, xr.text.data ? xr.text.data : "", xr.text.len);
    } else {
        size_t k = strlen(out->fallback_reason);
        snprintf(out->fallback_reason + k, sizeof out->fallback_reason - k, "%sextractive: %s", k ? "; " : "",
                 xr.reason);
    }
out:
    buf_puts(&out->text, "");
    out->latency_ms = (time_mono_ns() - t0) / 1000000;
    assistant_llm_result_free(&lr);
    assistant_extract_result_free(&xr);
    return rc;
}
