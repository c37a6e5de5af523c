//! Many threads complete the same session at the same instant: exactly one succeeds, every
//! other one is told `already_completed` (409), in every round.

use std::sync::{Arc, Barrier};
use std::thread;

use nox_authenticator::{Error, SupplierLinkSessionInput};
use nox_authenticator_bench::{NOW, REDIRECT_URL, SUPPLIER_KEY, authenticator};

const THREADS: usize = 16;
const ROUNDS: usize = 300;

#[test]
fn exactly_one_completion_wins_every_round() -> Result<(), Box<dyn std::error::Error>> {
    let auth = Arc::new(authenticator(1)?);
    let input = SupplierLinkSessionInput {
        user_id: Some("u1".into()),
        redirect_url: Some(REDIRECT_URL.into()),
        asset_type: Some("hp".into()),
        ..Default::default()
    };
    for round in 0..ROUNDS {
        let now = NOW + round as i64;
        let session = auth.create_supplier_link_session(Some(SUPPLIER_KEY), &input, now)?;
        let token: Arc<str> = session.token.as_str().into();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (auth, token, barrier) = (auth.clone(), token.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    auth.complete_session(&token, now + 1)
                })
            })
            .collect();
        let mut wins = 0;
        for handle in handles {
            match handle.join().map_err(|_| "a completing thread panicked")? {
                Ok(completed) => {
                    wins += 1;
                    assert_eq!(completed.completed_at, Some(now + 1));
                }
                Err(Error::SessionAlreadyCompleted { completed_at }) => {
                    assert_eq!(completed_at, now + 1);
                }
                Err(other) => return Err(format!("round {round}: unexpected {other:?}").into()),
            }
        }
        assert_eq!(wins, 1, "round {round}: {wins} completions succeeded");
        assert_eq!(
            auth.session(&token)?.completed_at,
            Some(now + 1),
            "round {round}"
        );
    }
    Ok(())
}
