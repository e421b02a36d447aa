package storage

// Object stores whose SDKs are compiled in. S3 (and S3-compatible stores)
// always are; Google Cloud Storage and Azure Blob Storage pull in large
// SDKs that would double weir's build time, so they take a build tag
// (files schemes_gcs.go and schemes_azblob.go register them).
var registeredSchemes = map[string]bool{"s3": true}

// buildTag names the build tag that compiles a scheme in.
var buildTag = map[string]string{"gs": "gcs", "azblob": "azblob"}
