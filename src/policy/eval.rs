//! Evaluating a policy set against one sign-in.
//!
//! [`PolicySet::evaluate`] is what the engine calls: it is allocation-light (only the names
//! of applied policies are copied). [`PolicySet::explain`] gives the same answer per policy,
//! with the first condition that excluded each one that does not apply, for `whatif`.

use super::{Evaluation, Policy, PolicySet, PolicyState, SignInContext};

/// What happened to one policy for one sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Enabled and in scope: enforced.
    Applied,
    /// Report-only and in scope: would have applied.
    ReportOnly,
    /// Out of scope (or disabled): the first condition that excluded it.
    NotApplied(String),
}

/// One policy and its outcome.
#[derive(Clone, Debug)]
pub struct Verdict<'p> {
    pub policy: &'p Policy,
    pub outcome: Outcome,
}

impl PolicySet {
    /// Evaluates every policy against one sign-in and combines the applicable ones: enabled
    /// policies into [`Evaluation::enforced`], report-only ones into
    /// [`Evaluation::report_only`].
    pub fn evaluate(&self, ctx: &SignInContext) -> Evaluation {
        let mut eval = Evaluation::default();
        for p in &self.policies {
            if p.check(ctx).is_err() {
                continue;
            }
            let (decision, names) = match p.state {
                PolicyState::ReportOnly => (&mut eval.report_only, &mut eval.report_only_applied),
                _ => (&mut eval.enforced, &mut eval.applied),
            };
            names.push(p.display_name.clone());
            decision.add(p);
        }
        eval
    }

    /// The outcome of every policy, in the set's order.
    pub fn explain(&self, ctx: &SignInContext) -> Vec<Verdict<'_>> {
        self.policies
            .iter()
            .map(|p| Verdict {
                policy: p,
                outcome: match p.check(ctx) {
                    Err(reason) => Outcome::NotApplied(reason.describe(p)),
                    Ok(()) if p.state == PolicyState::ReportOnly => Outcome::ReportOnly,
                    Ok(()) => Outcome::Applied,
                },
            })
            .collect()
    }
}
