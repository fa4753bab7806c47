/*
 * policy_text.h — a decision explained for a person to read, with Chinese
 * and English labels: the facts considered, each rule matched or not and
 * why, with its amount and the clause of the source notice, the funding,
 * the reconciliation and the ASSUMED/DECISION notes that applied.
 *
 * Used by `zizhu policy explain` (cases from JSON) and `zizhu explain`
 * (a person's facts from the database). Prints no ID number beyond what
 * the case's name holds: callers name the case with a masked number.
 */
#ifndef ZIZHU_POLICY_TEXT_H
#define ZIZHU_POLICY_TEXT_H

#include <stdio.h>

#include "zizhu/policy.h"

/* Writes the explanation of decision d, made by policy p for case c (all
 * borrowed), to out. d must come from an evaluation with the trace on. */
void zz_policy_explain_text(FILE *out, const zz_policy_t *p, const zz_case_t *c,
                            const zz_decision_t *d);

#endif
