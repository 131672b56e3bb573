package schemas

// imageSpec checks an image (an OSImage's spec or a NodeType's inline
// image): its URL, checksum type and format, and a checksum in hex of the
// length its type has.
func (v *validator) imageSpec(src Source, obj, field string, img *ImageSpec) {
	if v.required(src, obj, field+".url", img.URL, "give the image URL") {
		v.url(src, obj, field+".url", img.URL)
	}
	v.enum(src, obj, field+".checksumType", img.ChecksumType, ChecksumTypes)
	v.enum(src, obj, field+".format", img.Format, ImageFormats)
	if !v.required(src, obj, field+".checksum", img.Checksum, "give the image's checksum (hex digest)") {
		return
	}
	if !v.re.hex.MatchString(img.Checksum) {
		v.at(src, obj, field+".checksum", RuleChecksum, "checksum is not a hex digest; give the md5, sha256 or sha512 of the image in hex")
		return
	}
	n := len(img.Checksum)
	if want, ok := ChecksumLengths[img.ChecksumType]; ok && n != want {
		v.at(src, obj, field+".checksum", RuleChecksum, "a %s checksum has %d hex digits, this one has %d; fix the checksum or checksumType", img.ChecksumType, want, n)
		return
	}
	if img.ChecksumType == "" && n != 32 && n != 64 && n != 128 {
		v.at(src, obj, field+".checksum", RuleChecksum, "checksum has %d hex digits, which fits none of md5 (32), sha256 (64), sha512 (128); give the image's md5, sha256 or sha512 digest", n)
	}
}

// images checks every OSImage.
func (v *validator) images() {
	for _, img := range v.inv.OSImages {
		v.imageSpec(img.Source, ObjectRef(KindOSImage, img.Metadata.Name), "spec", &img.Spec)
	}
}
