/*
 * assistant_intent: configured intents matched from their examples.
 *
 * Each example and the incoming text become sets of content terms
 * (assistant_terms: lower-cased, accents folded, stop words dropped,
 * light stemming). A term's weight is its inverse intent frequency,
 * log(1 + N / df) with df the number of intents whose examples use it (a
 * term every intent uses says little; one unknown to all counts fully,
 * so off-topic words lower the confidence). The score of an example is
 * the weighted cosine of the two sets; an intent scores its best example;
 * the confidence is the best intent's score, in [0, 1]. Emergency phrases
 * are checked first and always win. Everything is explainable: the result
 * names the example (or phrase) that matched.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"

#define INTENT_DEFAULT_THRESHOLD 0.3

struct intent__example {
    char *text;                   /* as configured, for the reason */
    char **terms;                 /* distinct */
    int nterms;
    double norm2;                 /* sum of squared weights */
};

struct intent__intent {
    char *name;
    char *action;
    struct intent__example *ex;
    int nex;
};

struct intent__vocab {
    char *term;
    int df;
};

struct assistant_intents {
    struct intent__intent *in;
    int n;
    struct intent__vocab *vocab;
    int nvocab;
    char **emergency;             /* as configured */
    char ***eterms;               /* each phrase's terms, in order */
    int *neterms;
    int nemergency;
    double threshold;
};

/* Split text into its terms (in order; distinct when uniq). */
static int split_terms(const char *text, int uniq, char ***out)
{
    struct buf b = {0};
    int n = assistant_terms(text, &b), k = 0;
    char **t = calloc((size_t)n + 1, sizeof *t);
    const char *p = b.data;
    for (int i = 0; i < n; i++) {
        const char *nl = strchr(p, '\n');
        char *w = strndup(p, (size_t)(nl - p));
        int dup = 0;
        for (int j = 0; uniq && j < k; j++)
            dup |= strcmp(t[j], w) == 0;
        if (dup)
            free(w);
        else
            t[k++] = w;
        p = nl + 1;
    }
    buf_free(&b);
    *out = t;
    return k;
}

static void free_terms(char **t, int n)
{
    for (int i = 0; t && i < n; i++)
        free(t[i]);
    free(t);
}

static struct intent__vocab *vocab_find(const struct assistant_intents *c, const char *t)
{
    for (int i = 0; i < c->nvocab; i++)
        if (strcmp(c->vocab[i].term, t) == 0)
            return &c->vocab[i];
    return NULL;
}

static double weight(const struct assistant_intents *c, const char *t)
{
    const struct intent__vocab *v = vocab_find(c, t);
    return log(1.0 + (double)c->n / (v ? v->df : 1));
}

void assistant_intents_free(struct assistant_intents *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        struct intent__intent *in = &c->in[i];
        for (int j = 0; j < in->nex; j++) {
            free(in->ex[j].text);
            free_terms(in->ex[j].terms, in->ex[j].nterms);
        }
        free(in->ex);
        free(in->name);
        free(in->action);
    }
    free(c->in);
    for (int i = 0; i < c->nvocab; i++)
        free(c->vocab[i].term);
    free(c->vocab);
    for (int i = 0; i < c->nemergency; i++) {
        free(c->emergency[i]);
        free_terms(c->eterms[i], c->neterms[i]);
    }
    free(c->emergency);
    free(c->eterms);
    free(c->neterms);
    free(c);
}

int assistant_intents_new(struct assistant_intents **out, const struct assistant_intent *intents, int n,
                          const char *const *emergency, int nemergency, double threshold, struct err *e)
{
    int rc = 0;
    struct assistant_intents *c = NULL;
    *out = NULL;
    if (n < 0 || nemergency < 0 || (n && !intents) || (nemergency && !emergency) || threshold > 1)
        return err_set(e, ERR_INVALID, "invalid_intents", "intents need a list and a threshold <= 1");
    c = calloc(1, sizeof *c);
    c->in = calloc((size_t)n + 1, sizeof *c->in);
    c->threshold = threshold > 0 ? threshold : INTENT_DEFAULT_THRESHOLD;
    for (int i = 0; i < n; i++) {
        const struct assistant_intent *src = &intents[i];
        if (!src->name || !*src->name || src->nexamples <= 0 || !src->examples) {
            rc = err_set(e, ERR_INVALID, "invalid_intents", "intent %d needs a name and examples", i + 1);
            goto out;
        }
        struct intent__intent *in = &c->in[c->n++];
        in->name = strdup(src->name);
        in->action = strdup(src->action ? src->action : "");
        in->ex = calloc((size_t)src->nexamples, sizeof *in->ex);
        for (int j = 0; j < src->nexamples; j++) {
            struct intent__example *x = &in->ex[in->nex++];
            x->text = strdup(src->examples[j] ? src->examples[j] : "");
            x->nterms = split_terms(x->text, 1, &x->terms);
        }
    }
    /* Document frequency: intents whose examples use the term. */
    int cap = 0;
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->in[i].nex; j++)
            cap += c->in[i].ex[j].nterms;
    c->vocab = calloc((size_t)cap + 1, sizeof *c->vocab);
    for (int i = 0; i < c->n; i++) {
        struct intent__intent *in = &c->in[i];
        for (int j = 0; j < in->nex; j++)
            for (int k = 0; k < in->ex[j].nterms; k++) {
                const char *t = in->ex[j].terms[k];
                int seen = 0; /* already counted for this intent */
                for (int jj = 0; jj < j && !seen; jj++)
                    for (int kk = 0; kk < in->ex[jj].nterms && !seen; kk++)
                        seen = strcmp(in->ex[jj].terms[kk], t) == 0;
                if (seen)
                    continue;
                struct intent__vocab *v = vocab_find(c, t);
                if (!v) {
                    v = &c->vocab[c->nvocab++];
                    v->term = strdup(t);
                }
                v->df++;
            }
    }
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->in[i].nex; j++) {
            struct intent__example *x = &c->in[i].ex[j];
            for (int k = 0; k < x->nterms; k++) {
                double w = weight(c, x->terms[k]);
                x->norm2 += w * w;
            }
        }
    c->emergency = calloc((size_t)nemergency + 1, sizeof *c->emergency);
    c->eterms = calloc((size_t)nemergency + 1, sizeof *c->eterms);
    c->neterms = calloc((size_t)nemergency + 1, sizeof *c->neterms);
    for (int i = 0; i < nemergency; i++) {
        c->emergency[c->nemergency] = strdup(emergency[i] ? emergency[i] : "");
        c->neterms[c->nemergency] = split_terms(c->emergency[c->nemergency], 0, &c->eterms[c->nemergency]);
        c->nemergency++;
    }
out:
    if (rc) {
        assistant_intents_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* 1 when phrase's terms all appear in text's terms, in order. */
static int phrase_in(char **phrase, int np, char **text, int nt)
{
    int k = 0;
    if (np == 0)
        return 0;
    for (int i = 0; i < nt && k < np; i++)
        if (strcmp(text[i], phrase[k]) == 0)
            k++;
    return k == np;
}

void assistant_intents_classify(const struct assistant_intents *c, const char *text,
                                struct assistant_intent_match *out)
{
    char **seq = NULL, **q = NULL;
    int nseq = split_terms(text, 0, &seq);
    int nq = split_terms(text, 1, &q);

    memset(out, 0, sizeof *out);
    for (int i = 0; i < c->nemergency; i++) {
        if (phrase_in(c->eterms[i], c->neterms[i], seq, nseq)) {
            out->name = "emergency";
            out->action = "handover";
            out->confidence = 1;
            out->emergency = 1;
            out->handover = 1;
            snprintf(out->reason, sizeof out->reason, "emergency phrase \"%s\"", c->emergency[i]);
            goto out;
        }
    }
    if (nq == 0) {
        out->handover = 1;
        snprintf(out->reason, sizeof out->reason, "no content words");
        goto out;
    }
    double qn2 = 0;
    for (int k = 0; k < nq; k++) {
        double w = weight(c, q[k]);
        qn2 += w * w;
    }
    double best = 0;
    const struct intent__intent *bi = NULL;
    const struct intent__example *bx = NULL;
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->in[i].nex; j++) {
            const struct intent__example *x = &c->in[i].ex[j];
            double dot = 0;
            for (int k = 0; k < nq; k++)
                for (int m = 0; m < x->nterms; m++)
                    if (strcmp(q[k], x->terms[m]) == 0) {
                        double w = weight(c, q[k]);
                        dot += w * w;
                        break;
                    }
            double s = dot > 0 && x->norm2 > 0 ? dot / sqrt(qn2 * x->norm2) : 0;
            if (s > best + 1e-12) { /* ties: the first configured wins */
                best = s;
                bi = &c->in[i];
                bx = x;
            }
        }
    out->confidence = best > 1 ? 1 : best;
    if (bi) {
        out->name = bi->name;
        out->action = bi->action;
    }
    if (!bi) {
        out->handover = 1;
        snprintf(out->reason, sizeof out->reason, "no intent shares a word with the text");
    } else if (out->confidence < c->threshold) {
        out->handover = 1;
        snprintf(out->reason, sizeof out->reason, "confidence %.2f under %.2f (closest: %s, \"%.80s\")",
                 out->confidence, c->threshold, bi->name, bx->text);
    } else {
        snprintf(out->reason, sizeof out->reason, "like \"%.120s\" (%.2f)", bx->text, out->confidence);
    }
out:
    free_terms(seq, nseq);
    free_terms(q, nq);
}
