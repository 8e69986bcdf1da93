//! Where a chat model is and how it is reached.

use std::time::Duration;

use cbt_ports::ProviderKind;
use url::Url;

/// How requests prove who sends them.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A self-hosted server that asks for nothing.
    None,
    /// `Authorization: Bearer` (OpenAI keys, self-hosted servers' keys,
    /// Microsoft Entra access tokens for Azure OpenAI).
    Bearer(String),
    /// Azure OpenAI's `api-key` header.
    AzureApiKey(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            Self::Bearer(_) => "Bearer([redacted])",
            Self::AzureApiKey(_) => "AzureApiKey([redacted])",
        })
    }
}

/// A configured chat model. Checked by [`OpenAiCompatible::new`](crate::OpenAiCompatible::new).
#[derive(Clone, Debug)]
pub struct LlmSettings {
    /// `OpenAi`, `AzureOpenAi` or `SelfHosted` (an in-process model is not
    /// reached over HTTP).
    pub provider: ProviderKind,
    /// OpenAI and self-hosted: the API base, e.g. `https://api.openai.com/v1`
    /// or `http://127.0.0.1:8080/v1`. Azure: the resource, e.g.
    /// `https://contoso.openai.azure.com`.
    pub endpoint: Url,
    /// The model; for Azure, the deployment's name.
    pub model: String,
    /// Azure's `api-version` query parameter.
    pub api_version: String,
    pub credential: Credential,
    /// The operator's statement that the provider is covered by a business
    /// associate agreement. Without it the app sends no PHI.
    pub baa: bool,
    /// Limit for the answer to begin (the response's headers).
    pub answer_timeout: Duration,
    /// Limit for the wait between two pieces of a streamed answer.
    pub idle_timeout: Duration,
    /// Limit for a whole completion, retries included.
    pub total_timeout: Duration,
    /// Further attempts after a 429, a 5xx or a refused connection.
    pub max_retries: u32,
    /// The longest wait between attempts: a provider asking (with
    /// `Retry-After`) for longer gets an error at once instead.
    pub max_retry_wait: Duration,
}

/// Azure OpenAI's generally available API version at the time of writing.
pub const AZURE_API_VERSION: &str = "2024-10-21";

impl LlmSettings {
    /// Settings with the defaults for everything but where and what.
    pub fn new(provider: ProviderKind, endpoint: Url, model: impl Into<String>, credential: Credential) -> Self {
        Self {
            provider,
            endpoint,
            model: model.into(),
            api_version: AZURE_API_VERSION.to_owned(),
            credential,
            baa: false,
            answer_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(180),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(20),
        }
    }
}

/// A model setting that cannot be used; each names its setting.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LlmSettingsError {
    #[error("`provider` {0} is not reached over HTTP")]
    NotHttp(&'static str),
    #[error("`endpoint` must use https (plain http only to this machine)")]
    PlainNotLoopback,
    #[error("`endpoint` must not hold a user name, password, query or fragment")]
    EndpointExtras,
    #[error("`model` must be set (for Azure OpenAI: the deployment's name)")]
    NoModel,
    #[error("`model` may hold only letters, digits, and . _ - : /")]
    ModelCharacters,
    #[error("`api_version` must be set for Azure OpenAI")]
    NoApiVersion,
    #[error("`api_key` must be set for {0}")]
    NoCredential(&'static str),
    #[error("`{0}` must be more than zero")]
    ZeroTimeout(&'static str),
}

impl LlmSettingsError {
    /// The setting at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NotHttp(_) => "provider",
            Self::PlainNotLoopback | Self::EndpointExtras => "endpoint",
            Self::NoModel | Self::ModelCharacters => "model",
            Self::NoApiVersion => "api_version",
            Self::NoCredential(_) => "api_key",
            Self::ZeroTimeout(field) => field,
        }
    }
}

pub(crate) fn check(settings: &LlmSettings) -> Result<(), LlmSettingsError> {
    if settings.provider == ProviderKind::InProcess {
        return Err(LlmSettingsError::NotHttp(settings.provider.as_str()));
    }
    let endpoint = &settings.endpoint;
    if !endpoint.username().is_empty()
        || endpoint.password().is_some()
        || endpoint.query().is_some()
        || endpoint.fragment().is_some()
    {
        return Err(LlmSettingsError::EndpointExtras);
    }
    match endpoint.scheme() {
        "https" => {}
        "http" if is_loopback(endpoint) => {}
        _ => return Err(LlmSettingsError::PlainNotLoopback),
    }
    let model = settings.model.trim();
    if model.is_empty() {
        return Err(LlmSettingsError::NoModel);
    }
    // The model goes into Azure's URL path: nothing that could change it.
    if !model.chars().all(|c| c.is_ascii_alphanumeric() || "._-:/".contains(c)) || model.contains("..") {
        return Err(LlmSettingsError::ModelCharacters);
    }
    match settings.provider {
        ProviderKind::AzureOpenAi if settings.api_version.trim().is_empty() => {
            return Err(LlmSettingsError::NoApiVersion);
        }
        ProviderKind::AzureOpenAi | ProviderKind::OpenAi if settings.credential == Credential::None => {
            return Err(LlmSettingsError::NoCredential(settings.provider.as_str()));
        }
        _ => {}
    }
    for (field, limit) in [
        ("answer_timeout", settings.answer_timeout),
        ("idle_timeout", settings.idle_timeout),
        ("total_timeout", settings.total_timeout),
    ] {
        if limit.is_zero() {
            return Err(LlmSettingsError::ZeroTimeout(field));
        }
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: ProviderKind, endpoint: &str, credential: Credential) -> LlmSettings {
        LlmSettings::new(provider, Url::parse(endpoint).unwrap(), "gpt-4o-mini", credential)
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        let key = || Credential::Bearer("k".into());
        for ok in
            ["https://api.openai.com/v1", "http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://[::1]:1/v1"]
        {
            assert_eq!(check(&settings(ProviderKind::OpenAi, ok, key())), Ok(()), "{ok}");
        }
        for bad in ["http://10.0.0.5/v1", "http://localhost.example.org/v1", "ftp://127.0.0.1/"] {
            let err = check(&settings(ProviderKind::SelfHosted, bad, key())).unwrap_err();
            assert_eq!(err, LlmSettingsError::PlainNotLoopback, "{bad}");
            assert_eq!(err.field(), "endpoint");
        }
    }

    #[test]
    fn hosted_providers_need_a_key_and_a_self_hosted_one_may_not() {
        let none = Credential::None;
        let err = check(&settings(ProviderKind::AzureOpenAi, "https://x.openai.azure.com", none.clone())).unwrap_err();
        assert_eq!(err.field(), "api_key");
        assert!(check(&settings(ProviderKind::OpenAi, "https://api.openai.com/v1", none.clone())).is_err());
        assert_eq!(check(&settings(ProviderKind::SelfHosted, "http://127.0.0.1:8080/v1", none)), Ok(()));
    }

    #[test]
    fn the_model_cannot_change_the_azure_path() {
        let mut s =
            settings(ProviderKind::AzureOpenAi, "https://x.openai.azure.com", Credential::AzureApiKey("k".into()));
        for bad in ["", " ", "a?b", "a#b", "../x", "a b", "dep%2f"] {
            s.model = bad.into();
            assert_eq!(check(&s).unwrap_err().field(), "model", "{bad:?}");
        }
        s.model = "llama3.1:8b".into();
        assert_eq!(check(&s), Ok(()));
    }

    #[test]
    fn extras_in_the_endpoint_are_refused() {
        for bad in ["https://user:pw@api.openai.com/v1", "https://api.openai.com/v1?x=1", "https://api.openai.com/v1#f"]
        {
            let err = check(&settings(ProviderKind::OpenAi, bad, Credential::Bearer("k".into()))).unwrap_err();
            assert_eq!(err, LlmSettingsError::EndpointExtras, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let s = settings(ProviderKind::OpenAi, "https://api.openai.com/v1", Credential::Bearer("sk-secret".into()));
        assert!(!format!("{s:?}").contains("sk-secret"));
    }
}
