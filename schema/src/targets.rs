//! What a deployment target needs beyond the stack language: rules that
//! hold for one target only, checked when a command knows its target
//! (`plan`, `apply`, ...), not by `validate`, which knows none.

use crate::error::SchemaError;
use crate::model::Stack;

/// The problems of `stack` on the AWS target: a service with only `build:`
/// has nothing to deploy there (App Runner runs an image or builds from a
/// code repository; the local Dockerfile build is the Docker target's).
pub fn aws(stack: &Stack) -> Vec<SchemaError> {
    stack
        .services
        .iter()
        .filter(|(_, entry)| {
            let service = &entry.value;
            service.build.is_some() && service.image.is_none() && service.code.is_none()
        })
        .map(|(name, entry)| SchemaError::ImageNeededOnAws {
            service: name.clone(),
            span: entry.key_span.into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::VarInputs;

    fn stack(service: &str) -> crate::Stack {
        let text = format!("stack: shop\nregion: us-east-1\nservices:\n  web:\n{service}");
        crate::load(&text, &VarInputs::new()).unwrap()
    }

    #[test]
    fn a_build_only_service_is_valid_but_needs_an_image_on_aws() {
        let build_only = stack("    build: { context: ./app }\n");
        let problems = super::aws(&build_only);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code_str(), "schema::image_needed_on_aws");
        assert!(problems[0].to_string().contains("`web`"));
        let both =
            stack("    image: public.ecr.aws/nginx/nginx:1\n    build: { context: ./app }\n");
        assert!(super::aws(&both).is_empty());
    }
}
