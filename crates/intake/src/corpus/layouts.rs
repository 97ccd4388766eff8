//! The layouts of the document types, one method of the pen each.
use super::*;

impl<'f> Pen<'f> {
    pub(super) fn layout(
        &self,
        t: DocType,
        rng: &mut ChaCha8Rng,
        with_seal: bool,
    ) -> (Sheet<'f>, Option<Vec<String>>) {
        match t {
            DocType::CccdFront => (self.cccd_front(rng), None),
            DocType::CccdBack => self.cccd_back(rng, with_seal),
            DocType::BirthCertificate => (self.birth_certificate(rng, with_seal), None),
            DocType::MarriageCertificate => (self.marriage_certificate(rng, with_seal), None),
            DocType::HighSchoolDiploma => (self.high_school_diploma(rng, with_seal), None),
            DocType::UniversityDiploma => (self.university_diploma(rng, with_seal), None),
            DocType::AcademicTranscript => (self.transcript(rng, with_seal), None),
            DocType::LandUseRightCertificate => (self.land_certificate(rng, with_seal), None),
            DocType::DrivingLicence => (self.driving_licence(rng, with_seal), None),
            DocType::PassportDataPage => self.passport(rng),
            DocType::CivilStatusExtract => (self.civil_extract(rng, with_seal), None),
        }
    }

    /// A card (85.6 × 54 mm) on an A4 page, 300 dpi: returns the sheet with margins set to the card.
    pub(super) fn card_sheet(&self, tint: [u8; 3]) -> Sheet<'f> {
        let mut s = self.sheet([255, 255, 255]);
        let card = BBox::new(300, 300, 1011, 638);
        render::fill_rect(&mut s.img, card, tint);
        render::stroke_rect(&mut s.img, card, 3, [170, 170, 175], false);
        s.left = 330.0;
        s.right = 1290.0;
        s.y = 322.0;
        s.body = 31.0;
        s
    }

    pub(super) fn cccd_front(&self, rng: &mut ChaCha8Rng) -> Sheet<'f> {
        let p = Person::random(rng, None, 1966, 2006);
        let issue = Date::random(rng, (p.birth.year + 14).max(2021), 2024);
        let mut s = self.card_sheet([226, 238, 246]);
        // Emblem (light, decorative) and photo.
        render::disc(&mut s.img, 395.0, 400.0, 55.0, [236, 150, 140], false);
        render::star(&mut s.img, 395.0, 400.0, 30.0, [250, 225, 120], false);
        // The QR in the top-right corner (PRODUCT.md §4): idNumber|oldIdNumber|fullName|ddmmyyyy|sex|address|
        // ddmmyyyy (issue). The heading moves left to make room for it.
        let old_id = if rng.gen_bool(0.5) {
            format!("{:09}", rng.gen_range(0..1_000_000_000u32))
        } else {
            String::new()
        };
        let ddmmyyyy = |d: &Date| format!("{:02}{:02}{:04}", d.day, d.month, d.year);
        let payload = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            p.id_number,
            old_id,
            p.full_name(),
            ddmmyyyy(&p.birth),
            p.sex.vi(),
            p.address,
            ddmmyyyy(&issue)
        );
        s.qr = render::qr(&mut s.img, &payload, 1290, 318, 3).map(|b| (payload.clone(), b));
        let cx = 790.0;
        s.center_at(cx, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 30.0);
        s.center_at(cx, "Độc lập - Tự do - Hạnh phúc", Face::SansBold, 29.0);
        s.y += 4.0;
        let title_size = 40.0;
        let w = self.fonts.width(Face::SansBold, title_size, "CĂN CƯỚC CÔNG DÂN");
        s.put(
            cx - w / 2.0,
            "CĂN CƯỚC CÔNG DÂN",
            Face::SansBold,
            title_size,
            [190, 30, 40],
        );
        s.advance(title_size);
        let photo = BBox::new(330, 560, 250, 320);
        render::fill_rect(&mut s.img, photo, [212, 212, 214]);
        render::disc(&mut s.img, 455.0, 680.0, 62.0, [190, 190, 192], false);
        s.left = 610.0;
        s.body = 29.0;
        s.field("Số / No.:", &p.id_number, Some("id_number"));
        s.field("Họ và tên / Full name:", "", None);
        let name = p.full_name_upper();
        let d = s.put(610.0, &name, Face::SansBold, 34.0, INK);
        s.mark("holder_name", &name, d, Face::SansBold, 34.0);
        s.advance(31.0);
        s.field("Ngày sinh / Date of birth:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính / Sex:", p.sex.vi(), Some("sex"));
        s.field("Quốc tịch / Nationality:", "Việt Nam", None);
        s.field("Quê quán / Place of origin:", p.province, None);
        s.field("Nơi thường trú / Place of residence:", "", None);
        let addr = p.address.clone();
        s.text(&addr);
        let expiry = cccd_expiry(&p, &issue);
        s.field("Có giá trị đến / Date of expiry:", &expiry.dmy(), None);
        // The front carries no issue date or issuing body; those are on the back.
        let _ = issue;
        s
    }

    pub(super) fn cccd_back(
        &self,
        rng: &mut ChaCha8Rng,
        with_seal: bool,
    ) -> (Sheet<'f>, Option<Vec<String>>) {
        let p = Person::random(rng, None, 1966, 2006);
        let issue = Date::random(rng, (p.birth.year + 14).max(2021), 2024);
        let expiry = cccd_expiry(&p, &issue);
        let mut s = self.card_sheet([232, 240, 244]);
        let body = "CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI";
        s.field("Đặc điểm nhân dạng / Personal identification:", "", None);
        let marks = [
            "Nốt ruồi C:1cm trên trước đầu lông mày phải",
            "Sẹo chấm C:2cm dưới sau mép trái",
        ];
        s.text(pick(rng, &marks));
        s.field(
            "Ngày, tháng, năm / Date, month, year:",
            &issue.dmy(),
            Some("issue_date"),
        );
        s.text("CỤC TRƯỞNG");
        let d = s.put(s.left, body, Face::SansBold, 25.0, INK);
        s.mark("issuing_body", body, d, Face::SansBold, 25.0);
        s.advance(30.0);
        let signer = Person::random(rng, Some(Sex::Male), 1965, 1980).full_name();
        if with_seal {
            let b = seal(
                &mut s.img,
                self.fonts,
                560.0,
                s.y + 70.0,
                78.0,
                "BỘ CÔNG AN * CỤC CẢNH SÁT QLHC VỀ TTXH",
                SEAL_RED,
            );
            s.seal = Some(b);
        }
        signature(
            &mut s.img,
            560.0,
            s.y + 20.0,
            220.0,
            90.0,
            rng.gen_range(0.0..6.0),
        );
        s.y += 150.0;
        s.put(480.0, &signer, Face::SansBold, 30.0, INK);
        s.advance(30.0);
        // Fingerprint boxes (light).
        render::stroke_rect(
            &mut s.img,
            BBox::new(1030, 330, 120, 150),
            2,
            [190, 190, 190],
            false,
        );
        render::stroke_rect(
            &mut s.img,
            BBox::new(1165, 330, 120, 150),
            2,
            [190, 190, 190],
            false,
        );
        let data = mrz::MrzData {
            document_code: "ID".into(),
            issuing_state: "VNM".into(),
            document_number: p.id_number[3..].to_string(),
            optional: p.id_number.clone(),
            birth: p.birth.yymmdd(),
            sex: p.sex.mrz(),
            expiry: expiry.yymmdd(),
            nationality: "VNM".into(),
            surname: p.surname.clone(),
            given_names: format!("{} {}", p.middle, p.given),
        };
        let zone = mrz::td1(&data);
        s.y = 775.0;
        for l in &zone {
            s.put(335.0, l, Face::Mono, 41.0, INK);
            s.advance(31.0);
        }
        s.fields.holder_name = Some(p.full_name_upper());
        s.fields.birth_date = Some(p.birth.dmy());
        s.fields.sex = Some(p.sex.vi().to_string());
        s.fields.id_number = Some(p.id_number.clone());
        (s, Some(zone.to_vec()))
    }

    pub(super) fn ward_header(&self, s: &mut Sheet<'_>, ward: &str, province: &str) {
        s.national_heading();
        s.center(
            &format!("ỦY BAN NHÂN DÂN PHƯỜNG {}", ward.to_uppercase()),
            Face::SansBold,
            46.0,
        );
        s.center(
            &format!("THÀNH PHỐ {}", province.to_uppercase()),
            Face::Sans,
            42.0,
        );
        s.gap(20.0);
    }

    pub(super) fn birth_certificate(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 2000, 2020);
        let mother = Person::random(rng, Some(Sex::Female), p.birth.year - 35, p.birth.year - 20);
        let father = Person::random(rng, Some(Sex::Male), p.birth.year - 38, p.birth.year - 22);
        let reg = Date::random(rng, p.birth.year, p.birth.year).max(p.birth);
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        let number = format!("{}", rng.gen_range(1..400));
        s.field("Số:", &number, Some("document_number"));
        s.field("Quyển số:", &format!("01/{}", reg.year), None);
        s.gap(20.0);
        s.center("GIẤY KHAI SINH", Face::SansBold, 72.0);
        s.gap(20.0);
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &p.full_name_upper(),
            p.sex,
            false,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Dân tộc:", pick(rng, &people::ETHNICITIES), None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi sinh:", &format!("Bệnh viện Phụ sản {}", p.province), None);
        s.field("Quê quán:", p.province, None);
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.gap(10.0);
        s.field("Họ, chữ đệm, tên người mẹ:", &mother.full_name_upper(), None);
        s.field("Năm sinh:", &mother.birth.year.to_string(), None);
        s.field("Nơi cư trú:", &mother.address, None);
        s.field("Họ, chữ đệm, tên người cha:", &father.full_name_upper(), None);
        s.field("Năm sinh:", &father.birth.year.to_string(), None);
        s.field("Nơi cư trú:", &father.address, None);
        s.gap(10.0);
        s.field("Người đi khai sinh:", &father.full_name(), None);
        let body = format!("Ủy ban nhân dân phường {ward}");
        s.field("Nơi đăng ký:", &body, Some("issuing_body"));
        s.field("Ngày, tháng, năm đăng ký:", &reg.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", reg.words()),
            &["NGƯỜI KÝ GIẤY KHAI SINH"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn marriage_certificate(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let h = Person::random(rng, Some(Sex::Male), 1970, 2002);
        let w = Person::random(rng, Some(Sex::Female), 1972, 2003);
        let reg = Date::random(
            rng,
            h.birth.year.max(w.birth.year) + 20,
            2024.max(h.birth.year.max(w.birth.year) + 20),
        );
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        let number = format!("{}", rng.gen_range(1..300));
        s.field("Số:", &number, Some("document_number"));
        s.gap(10.0);
        s.center("GIẤY CHỨNG NHẬN KẾT HÔN", Face::SansBold, 68.0);
        s.gap(20.0);
        s.bold("Thông tin người chồng");
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &h.full_name_upper(),
            h.sex,
            true,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &h.birth.dmy(), Some("birth_date"));
        s.field("Dân tộc:", "Kinh", None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi cư trú:", &h.address, None);
        s.field("Số định danh cá nhân:", &h.id_number, Some("id_number"));
        s.gap(10.0);
        s.bold("Thông tin người vợ");
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &w.full_name_upper(),
            w.sex,
            true,
            None,
        );
        s.field("Ngày, tháng, năm sinh:", &w.birth.dmy(), None);
        s.field("Dân tộc:", "Kinh", None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi cư trú:", &w.address, None);
        s.field("Số định danh cá nhân:", &w.id_number, None);
        s.gap(10.0);
        let body = format!("Ủy ban nhân dân phường {ward}");
        s.field("Nơi đăng ký:", &body, Some("issuing_body"));
        s.field("Ngày, tháng, năm đăng ký:", &reg.dmy(), Some("issue_date"));
        s.fields.sex = Some("Nam".into());
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", reg.words()),
            &["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn high_school_diploma(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1985, 2006);
        let grad = p.birth.year + 18;
        let issue = Date::random(rng, grad, grad);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([253, 250, 238]);
        render::stroke_rect(
            &mut s.img,
            BBox::new(120, 120, PAGE_W - 240, PAGE_H - 240),
            10,
            [214, 184, 120],
            false,
        );
        s.national_heading();
        s.gap(40.0);
        s.center("BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG", Face::SerifBold, 64.0);
        s.gap(30.0);
        let body = format!("Sở Giáo dục và Đào tạo {prov}");
        s.center(
            &format!("GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO {}", prov.to_uppercase()),
            Face::SansBold,
            44.0,
        );
        s.center("cấp bằng tốt nghiệp trung học phổ thông cho", Face::Sans, 44.0);
        s.gap(30.0);
        self.person(
            &mut s,
            "Họ và tên:",
            &p.full_name(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Nơi sinh:", p.province, None);
        s.field(
            "Học sinh trường:",
            &format!("THPT {}", pick(rng, &people::STREETS)),
            None,
        );
        s.field("Năm tốt nghiệp:", &grad.to_string(), None);
        s.field(
            "Xếp loại tốt nghiệp:",
            pick(rng, &["Trung bình", "Khá", "Giỏi"]),
            None,
        );
        s.gap(20.0);
        let serial = format!("B {:07}", rng.gen_range(0..10_000_000));
        s.field("Số hiệu:", &serial, Some("document_number"));
        s.field(
            "Số vào sổ cấp bằng:",
            &format!("{}/{}", rng.gen_range(100..99999), grad),
            None,
        );
        s.field("Cơ quan cấp:", &body, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1962, 1980).full_name();
        let seal_text = format!("SỞ GIÁO DỤC VÀ ĐÀO TẠO * {} *", prov.to_uppercase());
        s.signature_block(
            &format!("{prov}, {}", issue.words()),
            &["GIÁM ĐỐC"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn university_diploma(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1975, 2002);
        let grad = p.birth.year + 22;
        let issue = Date::random(rng, grad, grad);
        let schools = [
            ("Trường Đại học Bách khoa Hà Nội", "Hà Nội"),
            ("Trường Đại học Kinh tế Quốc dân", "Hà Nội"),
            ("Trường Đại học Cần Thơ", "Cần Thơ"),
            ("Trường Đại học Sư phạm Thành phố Hồ Chí Minh", "Hồ Chí Minh"),
            ("Trường Đại học Bách khoa - Đại học Đà Nẵng", "Đà Nẵng"),
        ];
        let (school, city) = schools[rng.gen_range(0..schools.len())];
        let majors = [
            "Công nghệ thông tin",
            "Kế toán",
            "Luật",
            "Ngôn ngữ Anh",
            "Kỹ thuật xây dựng",
            "Quản trị kinh doanh",
        ];
        let mut s = self.sheet([252, 251, 244]);
        render::stroke_rect(
            &mut s.img,
            BBox::new(120, 120, PAGE_W - 240, PAGE_H - 240),
            10,
            [150, 180, 214],
            false,
        );
        s.national_heading();
        s.gap(30.0);
        s.center(
            &format!("HIỆU TRƯỞNG {}", school.to_uppercase()),
            Face::SansBold,
            44.0,
        );
        s.center("cấp", Face::Sans, 44.0);
        s.center("BẰNG TỐT NGHIỆP ĐẠI HỌC", Face::SerifBold, 66.0);
        s.center(&format!("Ngành: {}", pick(rng, &majors)), Face::Sans, 46.0);
        s.gap(30.0);
        self.person(&mut s, "Cho:", &p.full_name(), p.sex, true, Some("holder_name"));
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field(
            "Xếp loại tốt nghiệp:",
            pick(rng, &["Khá", "Giỏi", "Xuất sắc", "Trung bình"]),
            None,
        );
        s.field("Hình thức đào tạo:", "Chính quy", None);
        s.gap(20.0);
        let serial = format!("{:06}", rng.gen_range(0..1_000_000));
        s.field("Số hiệu:", &serial, Some("document_number"));
        s.field(
            "Số vào sổ gốc cấp văn bằng:",
            &format!("{}/ĐH{}", rng.gen_range(100..9999), grad),
            None,
        );
        s.field("Cơ quan cấp:", school, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1960, 1978).full_name();
        let seal_text = format!("BỘ GIÁO DỤC VÀ ĐÀO TẠO * {} *", school.to_uppercase());
        s.signature_block(
            &format!("{city}, {}", issue.words()),
            &["HIỆU TRƯỞNG"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn transcript(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1990, 2008);
        let year = p.birth.year + 17;
        let issue = Date::random(rng, year + 1, year + 1);
        let school = format!("Trường THPT {}", pick(rng, &people::STREETS));
        let mut s = self.sheet([255, 255, 255]);
        s.national_heading();
        s.center("HỌC BẠ TRUNG HỌC PHỔ THÔNG", Face::SansBold, 62.0);
        s.gap(10.0);
        s.field(
            "Số:",
            &format!("{}/HB", rng.gen_range(1..999)),
            Some("document_number"),
        );
        self.person(
            &mut s,
            "Họ và tên:",
            &p.full_name(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Nơi sinh:", p.province, None);
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.field("Lớp 12, năm học:", &format!("{}-{}", year, year + 1), None);
        s.gap(10.0);
        s.bold("Môn học | Học kỳ I | Học kỳ II | Cả năm");
        let subjects = [
            "Toán",
            "Ngữ văn",
            "Tiếng Anh",
            "Vật lý",
            "Hóa học",
            "Sinh học",
            "Lịch sử",
            "Địa lý",
        ];
        for subj in subjects {
            let a: f32 = rng.gen_range(50..100) as f32 / 10.0;
            let b: f32 = rng.gen_range(50..100) as f32 / 10.0;
            let all = (a + 2.0 * b) / 3.0;
            let fmt = |v: f32| format!("{v:.1}").replace('.', ",");
            s.text(&format!("{subj} | {} | {} | {}", fmt(a), fmt(b), fmt(all)));
        }
        s.field("Học lực cả năm:", pick(rng, &["Khá", "Giỏi", "Trung bình"]), None);
        s.field("Hạnh kiểm:", "Tốt", None);
        s.field("Trường:", &school, Some("issuing_body"));
        s.field("Ngày xác nhận:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("SỞ GD&ĐT * {} *", school.to_uppercase());
        s.signature_block(
            &format!("Ngày xác nhận: {}", issue.words()),
            &["HIỆU TRƯỞNG"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn land_certificate(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1950, 1995);
        let issue = Date::random(rng, 2010, 2024);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([252, 240, 240]);
        s.national_heading();
        s.center("GIẤY CHỨNG NHẬN", Face::SansBold, 64.0);
        s.center("QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở", Face::SansBold, 50.0);
        s.center("VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT", Face::SansBold, 50.0);
        s.gap(20.0);
        s.bold("I. Người sử dụng đất, chủ sở hữu nhà ở và tài sản khác gắn liền với đất");
        let title = if p.sex == Sex::Male { "Ông:" } else { "Bà:" };
        self.person(
            &mut s,
            title,
            &p.full_name_upper(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Năm sinh:", &p.birth.year.to_string(), Some("birth_date"));
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.field("Địa chỉ thường trú:", &p.address, None);
        s.gap(10.0);
        s.bold("II. Thửa đất, nhà ở và tài sản khác gắn liền với đất");
        s.text(&format!(
            "a) Thửa đất số: {}, tờ bản đồ số: {}",
            rng.gen_range(1..999),
            rng.gen_range(1..99)
        ));
        s.text(&format!(
            "b) Địa chỉ: {}",
            Person::random(rng, None, 1960, 1990).address
        ));
        s.text(&format!(
            "c) Diện tích: {},{} m²",
            rng.gen_range(40..400),
            rng.gen_range(0..10)
        ));
        s.text("d) Hình thức sử dụng: Sử dụng riêng");
        s.text("đ) Mục đích sử dụng: Đất ở tại đô thị");
        s.text("e) Thời hạn sử dụng: Lâu dài");
        s.gap(10.0);
        let serial = format!(
            "C{} {:06}",
            pick(rng, &["S", "X", "Y", "Đ"]),
            rng.gen_range(0..1_000_000)
        );
        s.field("Số phát hành:", &serial, Some("document_number"));
        s.field(
            "Số vào sổ cấp GCN:",
            &format!("CS {:05}", rng.gen_range(0..100_000)),
            None,
        );
        let body = format!("Sở Tài nguyên và Môi trường {prov}");
        s.field("Cơ quan cấp:", &body, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1960, 1980).full_name();
        let seal_text = format!("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG * {} *", prov.to_uppercase());
        s.signature_block(
            &format!("{prov}, {}", issue.words()),
            &["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn driving_licence(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1960, 2005);
        let issue = Date::random(rng, (p.birth.year + 18).max(2016), 2024.max(p.birth.year + 18));
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.card_sheet([246, 238, 218]);
        s.center_at(840.0, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 29.0);
        s.center_at(840.0, "Độc lập - Tự do - Hạnh phúc", Face::SansBold, 28.0);
        let w = self
            .fonts
            .width(Face::SansBold, 36.0, "GIẤY PHÉP LÁI XE / DRIVER'S LICENSE");
        s.put(
            840.0 - w / 2.0,
            "GIẤY PHÉP LÁI XE / DRIVER'S LICENSE",
            Face::SansBold,
            36.0,
            [190, 30, 40],
        );
        s.advance(36.0);
        render::fill_rect(&mut s.img, BBox::new(330, 520, 230, 290), [212, 212, 214]);
        s.left = 590.0;
        let number = format!("{}{:09}", p.province_code, rng.gen_range(0..1_000_000_000u32));
        s.field("Số / No:", &number, Some("document_number"));
        s.field("Họ tên / Full name:", &p.full_name_upper(), Some("holder_name"));
        s.field("Ngày sinh / Date of Birth:", &p.birth.dmy(), Some("birth_date"));
        s.field("Quốc tịch / Nationality:", "VIỆT NAM", None);
        s.field("Nơi cư trú / Address:", p.province, None);
        s.field("Hạng / Class:", pick(rng, &["A1", "B2", "B", "C"]), None);
        s.field("Ngày cấp / Date of issue:", &issue.dmy(), Some("issue_date"));
        s.field("Có giá trị đến / Expires:", &issue.plus_years(10).dmy(), None);
        let body = format!("SỞ GIAO THÔNG VẬN TẢI {}", prov.to_uppercase());
        let d = s.put(s.left, &body, Face::SansBold, 27.0, INK);
        s.mark("issuing_body", &body, d, Face::SansBold, 27.0);
        s.advance(30.0);
        if with_seal {
            let text = format!("SỞ GTVT * {} *", prov.to_uppercase());
            s.seal = Some(seal(&mut s.img, self.fonts, 1170.0, 840.0, 70.0, &text, SEAL_RED));
        }
        s
    }

    pub(super) fn passport(&self, rng: &mut ChaCha8Rng) -> (Sheet<'f>, Option<Vec<String>>) {
        let p = Person::random(rng, None, 1950, 2010);
        let issue = Date::random(rng, 2016, 2024);
        let expiry = issue.plus_years(10);
        let mut s = self.sheet([255, 255, 255]);
        let page = BBox::new(300, 300, 1476, 1039);
        render::fill_rect(&mut s.img, page, [238, 242, 232]);
        render::stroke_rect(&mut s.img, page, 3, [170, 170, 170], false);
        s.left = 330.0;
        s.right = 1746.0;
        s.y = 325.0;
        s.body = 33.0;
        s.center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 34.0);
        s.center("SOCIALIST REPUBLIC OF VIET NAM", Face::SansBold, 32.0);
        s.center("HỘ CHIẾU / PASSPORT", Face::SansBold, 40.0);
        render::fill_rect(&mut s.img, BBox::new(340, 530, 300, 390), [214, 214, 216]);
        s.left = 680.0;
        let number = format!(
            "{}{:07}",
            pick(rng, &["C", "E", "K"]),
            rng.gen_range(0..10_000_000)
        );
        s.field(
            "Loại / Type: P   Mã số / Code: VNM   Số hộ chiếu / Passport No.:",
            &number,
            Some("document_number"),
        );
        s.field(
            "Họ và tên / Full name:",
            &p.full_name_upper(),
            Some("holder_name"),
        );
        s.field("Quốc tịch / Nationality:", "VIỆT NAM / VIETNAMESE", None);
        s.field("Ngày sinh / Date of birth:", &p.birth.dmy(), Some("birth_date"));
        s.field("Nơi sinh / Place of birth:", &p.province.to_uppercase(), None);
        s.field("Giới tính / Sex:", p.sex.vi(), Some("sex"));
        s.field("Số GCMND / ID card No:", &p.id_number, Some("id_number"));
        s.field("Ngày cấp / Date of issue:", &issue.dmy(), Some("issue_date"));
        s.field("Có giá trị đến / Date of expiry:", &expiry.dmy(), None);
        let body = "Cục Quản lý xuất nhập cảnh";
        s.field("Nơi cấp / Place of issue:", body, Some("issuing_body"));
        let data = mrz::MrzData {
            document_code: "P".into(),
            issuing_state: "VNM".into(),
            document_number: number.clone(),
            optional: p.id_number.clone(),
            birth: p.birth.yymmdd(),
            sex: p.sex.mrz(),
            expiry: expiry.yymmdd(),
            nationality: "VNM".into(),
            surname: p.surname.clone(),
            given_names: format!("{} {}", p.middle, p.given),
        };
        let zone = mrz::td3(&data);
        s.y = 1200.0;
        for l in &zone {
            s.put(345.0, l, Face::Mono, 47.0, INK);
            s.advance(38.0);
        }
        (s, Some(zone.to_vec()))
    }

    pub(super) fn civil_extract(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1960, 2020);
        let reg = Date::random(rng, p.birth.year, p.birth.year).max(p.birth);
        let issue = Date::random(rng, 2020, 2024);
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        let number = format!("{}/TLKS-BS", rng.gen_range(1..999));
        s.field("Số:", &number, Some("document_number"));
        s.gap(10.0);
        s.center("TRÍCH LỤC KHAI SINH", Face::SansBold, 68.0);
        s.center("(BẢN SAO)", Face::Sans, 46.0);
        s.gap(10.0);
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &p.full_name_upper(),
            p.sex,
            false,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Dân tộc:", "Kinh", None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi sinh:", p.province, None);
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        let mother = Person::random(rng, Some(Sex::Female), p.birth.year - 35, p.birth.year - 20);
        let father = Person::random(rng, Some(Sex::Male), p.birth.year - 38, p.birth.year - 22);
        s.field("Họ, chữ đệm, tên người mẹ:", &mother.full_name_upper(), None);
        s.field("Họ, chữ đệm, tên người cha:", &father.full_name_upper(), None);
        s.field(
            "Nơi đăng ký khai sinh:",
            &format!("Ủy ban nhân dân phường {ward}"),
            None,
        );
        s.field("Ngày, tháng, năm đăng ký:", &reg.dmy(), None);
        let body = format!("Ủy ban nhân dân phường {ward}");
        s.field("Cơ quan cấp trích lục:", &body, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", issue.words()),
            &["NGƯỜI KÝ TRÍCH LỤC"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    pub(super) fn foreign_birth_certificate(&self, rng: &mut ChaCha8Rng) -> Sheet<'f> {
        let p = Person::random(rng, None, 2000, 2020);
        let reg = Date::random(rng, p.birth.year, p.birth.year).max(p.birth);
        let months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let long = |d: &Date| {
            format!(
                "{} {} {}",
                d.day,
                months[(d.month as usize).saturating_sub(1) % 12],
                d.year
            )
        };
        let places = [
            ("Sydney, New South Wales", "NEW SOUTH WALES"),
            ("Auckland", "NEW ZEALAND"),
            ("Toronto, Ontario", "ONTARIO"),
        ];
        let (place, state) = places[rng.gen_range(0..places.len())];
        let mut s = self.sheet([255, 255, 255]);
        s.center(
            &format!("{state} REGISTRY OF BIRTHS, DEATHS AND MARRIAGES"),
            Face::SerifBold,
            48.0,
        );
        s.gap(30.0);
        s.center("BIRTH CERTIFICATE", Face::SerifBold, 72.0);
        s.gap(30.0);
        let number = format!("{}/{:06}", reg.year, rng.gen_range(0..1_000_000));
        s.field("Registration number:", &number, Some("document_number"));
        let name = people::mrz_free_name(&p);
        s.field("Full name:", &name, Some("holder_name"));
        s.field("Date of birth:", &long(&p.birth), Some("birth_date"));
        s.field(
            "Sex:",
            if p.sex == Sex::Male { "Male" } else { "Female" },
            Some("sex"),
        );
        s.field("Place of birth:", place, None);
        s.field(
            "Mother:",
            &people::mrz_free_name(&Person::random(rng, Some(Sex::Female), 1970, 1995)),
            None,
        );
        s.field(
            "Father:",
            &people::mrz_free_name(&Person::random(rng, Some(Sex::Male), 1968, 1993)),
            None,
        );
        s.field("Date of registration:", &long(&reg), Some("issue_date"));
        let body = format!("Registry of Births, Deaths and Marriages, {state}");
        s.field("Issued by:", &body, Some("issuing_body"));
        let seal_text = format!("REGISTRAR * {state} *");
        s.signature_block(
            &format!("Issued on {}", long(&reg)),
            &["REGISTRAR"],
            "J. SMITH",
            Some(seal_text.as_str()),
            rng,
        );
        s
    }
}

pub(super) fn cccd_expiry(p: &Person, issue: &Date) -> Date {
    let age_at_issue = issue.year.saturating_sub(p.birth.year);
    let years = [25u16, 40, 60]
        .into_iter()
        .find(|a| *a > age_at_issue + 2)
        .unwrap_or(60);
    p.birth.plus_years(years)
}
