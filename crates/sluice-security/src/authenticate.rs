//! Who signed a request. In `sigv4` mode a request is accepted only with a valid signature by a known,
//! active key (and, for a role session's key, its session token, until the session expires); in `off`
//! mode the access key only names the caller, as local AWS emulators do.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine;
use sluice_model::{ApiError, Principal};
use subtle::ConstantTimeEq;

use crate::directory::{Credentials, Directory};
use crate::sigv4::{self, Credential, SignedRequest, SigningKeys};

/// How requests are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// AWS Signature Version 4, verified against stored access keys.
    Sigv4,
    /// Any signature or none; the access key only names the account.
    Off,
}

impl std::str::FromStr for AuthMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "sigv4" => Ok(AuthMode::Sigv4),
            "off" => Ok(AuthMode::Off),
            _ => Err(format!(
                "{text:?} is not an authentication mode: sigv4 or off"
            )),
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub access_key_id: Option<String>,
    /// The signature's credential scope (region and service), when the request names one.
    pub scope: Option<Credential>,
}

/// Access keys whose credentials are kept; past it the cache starts again empty.
const MAX_CACHED_KEYS: usize = 10_000;

pub struct Authenticator {
    directory: Arc<Directory>,
    /// Credentials of keys seen, as of a directory generation: a key changed, deactivated or deleted
    /// moves the generation and is read again. Unknown keys are not kept. Read by every request and
    /// written when a key is first seen: a read-write lock, held only to clone an `Arc`.
    credentials: RwLock<HashMap<String, (u64, Arc<Credentials>)>>,
    mode: AuthMode,
    /// The account of `off`-mode requests whose access key names none.
    default_account: String,
    keys: SigningKeys,
}

impl Authenticator {
    pub fn new(directory: Arc<Directory>, mode: AuthMode, default_account: &str) -> Self {
        Authenticator {
            directory,
            credentials: RwLock::default(),
            mode,
            default_account: default_account.to_string(),
            keys: SigningKeys::default(),
        }
    }

    /// The caller of `request` at `now` (epoch seconds), or the error AWS answers it with.
    pub async fn authenticate(
        &self,
        request: &SignedRequest<'_>,
        now: i64,
    ) -> Result<Caller, ApiError> {
        match self.mode {
            AuthMode::Sigv4 => self.verify(request, now).await,
            AuthMode::Off => Ok(self.name(request).await),
        }
    }

    /// The caller holding a long-term access key and its secret, as presented where no request
    /// can be signed (a metrics scraper's basic credentials). The secret is compared in constant
    /// time; a wrong one is told apart from an unknown key no better than a signature would be.
    pub async fn authenticate_secret(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        now: i64,
    ) -> Result<Caller, ApiError> {
        let credentials = self
            .credentials(access_key_id)
            .await?
            .ok_or_else(sigv4::invalid_client_token_id)?;
        let secret_matches = credentials
            .secret_access_key
            .as_bytes()
            .ct_eq(secret_access_key.as_bytes());
        if !credentials.active || !token_matches(&credentials, None) || !bool::from(secret_matches)
        {
            return Err(sigv4::invalid_client_token_id());
        }
        if credentials.expires_at.is_some_and(|at| at <= now) {
            return Err(sigv4::expired_token());
        }
        Ok(Caller {
            principal: credentials.principal.clone(),
            access_key_id: Some(access_key_id.to_string()),
            scope: None,
        })
    }

    async fn verify(&self, request: &SignedRequest<'_>, now: i64) -> Result<Caller, ApiError> {
        let signature =
            sigv4::read_signature(request)?.ok_or_else(sigv4::missing_authentication_token)?;
        let access_key_id = &signature.credential.access_key_id;
        let credentials = self
            .credentials(access_key_id)
            .await?
            .ok_or_else(sigv4::invalid_client_token_id)?;
        if !credentials.active || !token_matches(&credentials, signature.security_token.as_deref())
        {
            return Err(sigv4::invalid_client_token_id());
        }
        sigv4::check_time(&signature, now)?;
        sigv4::verify(
            &signature,
            request,
            &credentials.secret_access_key,
            &self.keys,
        )?;
        // Told only to whoever holds the secret: the signature is valid, the session is over.
        if credentials.expires_at.is_some_and(|at| at <= now) {
            return Err(sigv4::expired_token());
        }
        Ok(Caller {
            principal: credentials.principal.clone(),
            access_key_id: Some(access_key_id.clone()),
            scope: Some(signature.credential),
        })
    }

    async fn credentials(&self, access_key_id: &str) -> Result<Option<Arc<Credentials>>, ApiError> {
        let generation = self.directory.generation();
        let cached = self
            .credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(access_key_id)
            .filter(|(at, _)| *at == generation)
            .map(|(_, credentials)| credentials.clone());
        if cached.is_some() {
            return Ok(cached);
        }
        let found = self
            .directory
            .credentials(access_key_id)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e.message, "access key lookup failed");
                ApiError::service_unavailable()
            })?;
        let Some(found) = found else {
            return Ok(None);
        };
        let found = Arc::new(found);
        let mut cache = self
            .credentials
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache.insert(access_key_id.to_string(), (generation, found.clone()));
        Ok(Some(found))
    }

    /// `off` mode: a 12-digit access key is that account's root, a stored key is its owner, and any
    /// other request is the default account's root.
    async fn name(&self, request: &SignedRequest<'_>) -> Caller {
        let scope = sigv4::scope_of(request);
        let access_key_id = scope.as_ref().map(|c| c.access_key_id.clone());
        let principal = match access_key_id.as_deref() {
            Some(key) if sluice_model::is_account_id(key) => Principal::root(key),
            Some(key) => match self.credentials(key).await {
                Ok(Some(credentials)) => credentials.principal.clone(),
                _ => Principal::root(&self.default_account),
            },
            None => Principal::root(&self.default_account),
        };
        Caller {
            principal,
            access_key_id,
            scope,
        }
    }
}

/// A role session's key works only with its session token; a long-term key with none.
/// The access key ID and secret of an `Authorization: Basic` header value (the user name and
/// password, base64-encoded and joined by a colon), or `None` for anything else.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn token_matches(credentials: &Credentials, presented: Option<&str>) -> bool {
    match (credentials.session_token.as_deref(), presented) {
        (Some(expected), Some(presented)) => {
            bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
        }
        (None, None) => true,
        _ => false,
    }
}
