"""Synthetic spine cement-augmentation procedure notes for benchmarks.

``generate(n, seed)`` returns ``n`` ``(note_id, text)`` pairs of roughly 300-500 words each: history, indication,
conservative therapy with a duration, a procedure paragraph (levels, device, guidance, biopsy) and findings. Notes
vary the procedure (vertebroplasty, balloon kyphoplasty, non-balloon augmentation, mixed, sacroplasty), the levels
(single, contiguous, non-contiguous, ranges), headed formal reports versus lowercase speech-recognition dictation with
spoken numbers, the phrasing, and the layout: headed notes mostly keep each paragraph on one line with the short
closing fields on consecutive lines (as most of ``../shared/dev_gold`` does), a quarter are wrapped at a fixed width,
some put each heading on a line of its own; half of the unheaded dictations come back wrapped. Output is
deterministic for a given seed. All content is invented (placeholder names, MRN 000000); nothing here is a real
patient record.

Run directly to print one sample and word-count statistics::

    .venv/bin/python benchmarks/synth.py --n 200 --seed 1
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import textwrap

LEVELS = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]
TREATABLE = [lv for lv in LEVELS if lv[0] in "TL" and lv not in ("T1", "T2", "T3")]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty",
        90: "ninety"}
TEENS = {13: "thirteen", 14: "fourteen", 15: "fifteen", 16: "sixteen", 17: "seventeen", 18: "eighteen",
         19: "nineteen"}
REGION_SPOKEN = {"C": ["cee", "cervical"], "T": ["tee", "thoracic"], "L": ["el", "lumbar"]}
PATIENTS = ["Jane Doe", "John Doe", "Mary Major", "Richard Roe"]
PROVIDERS = [f"Provider {w}, MD" for w in ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight")]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth", "twenty first", "twenty second", "twenty third",
            "twenty fourth", "twenty fifth", "twenty sixth", "twenty seventh", "twenty eighth"]

MODALITIES = ["a TLSO brace", "a lumbosacral corset", "acetaminophen", "tramadol", "oxycodone as needed",
              "hydrocodone", "ibuprofen", "naproxen", "physical therapy", "bed rest", "intranasal calcitonin",
              "activity modification", "a lidocaine patch", "gabapentin", "a Jewett brace"]
COMORBID = ["hypertension", "type 2 diabetes", "atrial fibrillation on apixaban", "COPD",
            "chronic kidney disease stage 3", "hypothyroidism",
            "prior left hip fracture", "coronary artery disease", "gastroesophageal reflux",
            "mild cognitive impairment", "rheumatoid arthritis"]
CAUSES = {
    "osteoporosis": ["slipped getting out of bed", "fell from standing in the bathroom", "lifted a bag of groceries",
                     "had a coughing fit", "sat down hard on a kitchen chair", "felt a pop while bending over"],
    "neoplasm": ["has metastatic breast carcinoma", "has multiple myeloma on lenalidomide",
                 "has metastatic lung adenocarcinoma", "has metastatic renal cell carcinoma"],
    "trauma": ["was a restrained driver in a highway-speed collision", "fell about eight feet from a ladder",
               "was thrown from a horse"],
    "hemangioma": ["has an aggressive vertebral hemangioma"],
}
DEVICES = ["SpineJack implants", "a Kiva implant", "a curved osteotome", "a radiofrequency cavity device"]
FINDINGS = [
    "Final lateral and AP images showed good cement interdigitation without extravasation into the canal or foramina.",
    "There was a small amount of cement in a paravertebral vein that did not change with observation.",
    "Cement filled the anterior two thirds of each treated body with good endplate to endplate spread.",
    "No cement was seen in the spinal canal, the neural foramina or the disc spaces.",
    "Partial restoration of anterior height was seen at the most collapsed level.",
]
PLANS = [
    "Bed rest flat for two hours, then ambulate with assistance. Follow-up in clinic in two weeks.",
    "Discharge home this afternoon if ambulating. Start osteoporosis treatment through the primary care physician.",
    "Admit for overnight observation and pain control. Physical therapy evaluation tomorrow.",
    "Resume anticoagulation tomorrow morning. Upright radiographs in six weeks.",
]
CONSENTS = [
    "Risks including bleeding, infection, cement leakage, nerve injury and new fractures were discussed and written "
    "consent was obtained.",
    "The patient understood the risks, benefits and alternatives and signed the consent form.",
    "Informed consent was obtained after a discussion of cement leak, infection and adjacent level fracture.",
]
EXAMS = [
    "On examination there is focal midline tenderness to percussion over the fractured level, strength is five out of "
    "five in both lower extremities, sensation is intact and reflexes are symmetric.",
    "Exam shows an increased thoracic kyphosis, point tenderness at the fracture, a normal gait only with a walker, "
    "and no long tract signs. Straight leg raise is negative bilaterally.",
    "She is uncomfortable lying flat. Neurologic examination is nonfocal with intact perineal sensation, normal rectal "
    "tone by history, and no clonus.",
]
LABS = [
    "Preprocedure platelets were 212 and INR 1.0. Anticoagulation was held for three days.",
    "Laboratory values were within normal limits apart from a mildly low vitamin D level, which is being replaced.",
    "Creatinine is stable at 1.3. Calcium and alkaline phosphatase are normal. Protein electrophoresis is pending.",
]
ALLERGIES = ['none known', 'penicillin (rash)', 'sulfa drugs', 'iodinated contrast']
SEDATIONS = [
    "Moderate sedation was given by the nurse under my supervision with continuous monitoring.",
    "General anesthesia was induced by the anesthesia team.",
    "Monitored anesthesia care was provided by anesthesia staff.",
    "Local anesthesia only, at the patient's request.",
]


def number_words(n: int) -> str:
    if n <= 12:
        return WORDS[n]
    if n in TEENS:
        return TEENS[n]
    tens, unit = divmod(n, 10)
    return TENS[tens * 10] + ("" if unit == 0 else " " + WORDS[unit])


def spoken_level(level: str, rng: random.Random) -> str:
    return f"{rng.choice(REGION_SPOKEN[level[0]])} {number_words(int(level[1:]))}"


def written_level(level: str, rng: random.Random) -> str:
    return rng.choice([level, level, f"{level[0]}-{level[1:]}", f"{level[0]}{level[1:]} vertebral body"])


def join_levels(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def pick_levels(rng: random.Random) -> list[str]:
    k = rng.choices([1, 2, 3], weights=[5, 3, 2])[0]
    if rng.random() < 0.65 or k == 1:
        start = rng.randrange(0, len(TREATABLE) - k + 1)
        return TREATABLE[start:start + k]
    return sorted(rng.sample(TREATABLE, k), key=LEVELS.index)


def duration(rng: random.Random, spoken: bool) -> str:
    unit = rng.choice(["weeks", "months", "days", "range"])
    if unit == "weeks":
        n = rng.randint(3, 14)
        return f"{number_words(n) if spoken else n} weeks"
    if unit == "months":
        n = rng.randint(1, 4)
        return f"{number_words(n) if spoken else n} month{'s' if n > 1 else ''}"
    if unit == "days":
        n = rng.choice([21, 28, 30, 35, 42, 45, 60])
        return f"{number_words(n) if spoken else n} days"
    lo = rng.randint(4, 8)
    return f"{number_words(lo)} to {number_words(lo + 2)} weeks" if spoken else f"{lo}-{lo + 2} weeks"


def procedure_paragraph(rng: random.Random, kind: str, levels: list[str], name, spoken: bool) -> list[str]:
    guidance = rng.choice(["biplane fluoroscopy", "fluoroscopic guidance", "the C-arm", "CT guidance",
                           "fluoroscopy with a cone-beam CT spin", "O-arm navigation and fluoroscopy", "fluoro"])
    if spoken:
        guidance = guidance.replace("fluoroscopy", rng.choice(["fluoroscopy", "flouroscopy"])).lower()
    out = [f"Under {guidance}, the skin and periosteum were anesthetized with one percent lidocaine."]
    biopsy_level = rng.choice([*levels, None, None])
    for i, lv in enumerate(levels):
        side = rng.choice(["bilateral transpedicular", "left unipedicular", "right unipedicular",
                           "bilateral extrapedicular"])
        vol = round(rng.uniform(2.0, 6.0), 1)
        this_kind = kind if kind != "mixed" else ("vertebroplasty" if i == 0 else "kyphoplasty")
        out.append(f"At {name(lv)}, {side} access was obtained with {rng.choice(['11', '13', '10'])} gauge "
                   f"{rng.choice(['needles', 'cannulas', 'trocars'])}.")
        if biopsy_level == lv:
            out.append(f"A core biopsy of {name(lv)} was obtained through the working cannula and sent to pathology.")
        if this_kind == "kyphoplasty":
            out.append(f"Inflatable bone tamps were advanced and inflated to {round(rng.uniform(1.5, 3.5), 1)} mL, "
                       "creating a cavity with partial height restoration, then removed.")
        elif this_kind == "device":
            out.append(f"{rng.choice(DEVICES).capitalize()} {rng.choice(['created', 'was used to create'])} a cavity "
                       "in the anterior vertebral body.")
        else:
            out.append(rng.choice(["No balloon was used at this level.", "Cement was injected directly.", ""]))
        out.append(f"{vol} mL of PMMA cement was injected under lateral monitoring.")
    if biopsy_level is None and rng.random() < 0.4:
        out.append(rng.choice(["No biopsy was performed.", "Specimens: none."]))
    return [s for s in out if s]


def sacro_paragraph(rng: random.Random) -> list[str]:
    both = rng.random() < 0.6
    guide = rng.choice(["CT guidance", "fluoroscopy with inlet and outlet views", "CT and fluoroscopic guidance"])
    out = [f"Under {guide}, an 11 gauge needle was advanced along the long axis of the "
           f"{'right sacral ala' if both or rng.random() < 0.5 else 'left sacral ala'}."]
    if both:
        out.append("A second needle was placed into the opposite sacral ala in the same fashion.")
    out.append(f"A total of {round(rng.uniform(3, 8), 1)} mL of PMMA was injected slowly without foraminal leak.")
    return out


DISPOSITIONS = ["To recovery in stable condition.", "Stable to PACU.", "Home after two hours of bed rest.",
                "Admitted for observation."]


def one_note(rng: random.Random) -> str:
    kind = rng.choices(["vertebroplasty", "kyphoplasty", "device", "mixed", "sacroplasty"],
                       weights=[30, 35, 12, 10, 8])[0]
    indication = rng.choices(list(CAUSES), weights=[70, 18, 8, 4])[0]
    spoken = rng.random() < 0.35
    headed = not spoken and rng.random() < 0.75
    levels = ["S1", "S2"] if kind == "sacroplasty" else pick_levels(rng)
    if kind == "mixed" and len(levels) == 1:
        i = max(1, TREATABLE.index(levels[0]))
        levels = TREATABLE[i - 1:i + 1]

    def name(lv: str) -> str:
        return spoken_level(lv, rng) if spoken else written_level(lv, rng)

    title = {"vertebroplasty": "percutaneous vertebroplasty", "kyphoplasty": "balloon kyphoplasty",
             "device": rng.choice(["vertebral augmentation", "kyphoplasty"]), "mixed": "vertebroplasty and kyphoplasty",
             "sacroplasty": "sacroplasty"}[kind]
    if spoken and kind == "kyphoplasty":
        title = rng.choice(["balloon kypho plasty", "balloon kyphoplasty"])
    age = rng.randint(55, 92)
    sex = rng.choice(["woman", "man"])
    lvl_text = "the sacrum" if kind == "sacroplasty" else join_levels([name(lv) for lv in levels])
    old = rng.choice([lv for lv in TREATABLE if lv not in levels])
    meds = rng.sample(MODALITIES, rng.randint(2, 4))
    comorbid = rng.sample(COMORBID, 2)
    history = [
        f"This is a {number_words(age) if spoken else age} year old {sex} with {comorbid[0]} and "
        f"{comorbid[1]} who {rng.choice(CAUSES[indication])}.",
        f"{'Osteoporosis was confirmed on DXA. ' if indication == 'osteoporosis' else ''}"
        f"MRI showed marrow edema at {lvl_text} with {rng.randint(15, 50)} percent loss of height.",
        f"There is an old healed compression deformity of {name(old)} without edema, which was not treated.",
        f"Pain has been present for {duration(rng, spoken)} and is rated {rng.randint(6, 10)} out of ten.",
    ]
    therapy = (f"She has failed {duration(rng, spoken)} of conservative management with {join_levels(meds)}."
               if sex == "woman" else
               f"He completed {duration(rng, spoken)} of {join_levels(meds)} without meaningful relief.")
    if rng.random() < 0.1:
        therapy = "Conservative management has failed."
    body = sacro_paragraph(rng) if kind == "sacroplasty" else procedure_paragraph(rng, kind, levels, name, spoken)
    sections = [
        ("PROCEDURE", f"{title.capitalize()} of {lvl_text}."),
        ("HISTORY", " ".join(history)),
        ("CONSERVATIVE THERAPY", therapy),
        ("PAST MEDICAL HISTORY", f"{join_levels(rng.sample(COMORBID, 4))}. Allergies: {rng.choice(ALLERGIES)}."),
        ("EXAM", rng.choice(EXAMS)),
        ("LABS", rng.choice(LABS)),
        ("CONSENT", rng.choice(CONSENTS)),
        ("SEDATION", rng.choice(SEDATIONS)),
        ("TECHNIQUE", "The patient was placed prone and a time-out was performed. The back was prepped and draped "
                      "in the usual sterile fashion. " + " ".join(body)),
        ("FINDINGS", " ".join(rng.sample(FINDINGS, 2))),
        ("COMPLICATIONS", rng.choice(["None.", "None immediate.", "No immediate complications."])),
        ("PLAN", rng.choice(PLANS)),
    ]
    date = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/20{rng.randint(22, 25)}"
    if headed:
        head = [f"{rng.choice(['INTERVENTIONAL RADIOLOGY', 'SPINE SURGERY', 'PAIN MANAGEMENT'])} PROCEDURE NOTE",
                f"Patient: {rng.choice(PATIENTS)}", "MRN: 000000", f"Date of Service: {date}",
                f"Operator: {rng.choice(PROVIDERS)}", ""]
        layout = rng.choices(["lines", "wrapped", "heading_above"], weights=[60, 25, 15])[0]
        if layout == "wrapped":  # some transcription systems wrap lines at a fixed width
            width = rng.choice([72, 76, 80, 88])
            return "\n".join(head + [textwrap.fill(f"{h}: {t}", width) + "\n" for h, t in sections])
        # most EHR notes keep a paragraph on one line, and short fields on consecutive lines
        # ("COMPLICATIONS: None.\nEBL: Minimal.\nSPECIMENS: None."), as 36 of the 40 dev notes do
        fields = [f"COMPLICATIONS: {sections[-2][1]}", f"EBL: {rng.choice(['Minimal.', 'Less than 5 mL.', '10 mL.'])}",
                  f"SPECIMENS: {rng.choice(['None.', 'None sent.'])}", f"DISPOSITION: {rng.choice(DISPOSITIONS)}"]
        prose = sections[:-2]
        if layout == "heading_above":
            blocks = [f"{h}:\n{t}" for h, t in prose]
        else:
            blocks = [f"{h}: {t}" for h, t in prose]
        return "\n".join(head) + "\n" + "\n\n".join(blocks) + "\n\n" + "\n".join(fields) + \
            f"\n\nPLAN: {sections[-1][1]}\n"
    spoken_date = f"{rng.choice(MONTHS)} {rng.choice(ORDINALS)} twenty twenty {number_words(rng.randint(2, 5))}"
    intro = (f"this is {rng.choice(PROVIDERS).split(',')[0].lower()} dictating a procedure note for "
             f"{rng.choice(PATIENTS).lower()} medical record number zero zero zero zero zero zero date of service "
             f"{spoken_date}")
    paras = [intro] + [f"{h.lower()} {t}" for h, t in sections]
    text = "\n\n".join(paras) + "\n\nend of dictation\n"
    if spoken:
        text = re.sub(r"(\d)\.(\d)", r"\1 point \2", text)
        text = text.replace(".", "").replace(",", "").replace(":", "").lower()
    if rng.random() < 0.5:  # half of the unheaded dictations come back line-wrapped
        width = rng.choice([72, 80, 96])
        text = "\n\n".join(textwrap.fill(p, width) for p in text.split("\n\n"))
    return text


def generate(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Return ``n`` deterministic synthetic notes as ``(note_id, text)`` pairs."""
    rng = random.Random(seed)
    return [(f"synth_{seed}_{i:05d}", one_note(rng)) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    notes = generate(args.n, args.seed)
    words = [len(t.split()) for _, t in notes]
    print(notes[0][1])
    print(f"{len(notes)} notes; words min {min(words)} median {statistics.median(words)} max {max(words)}")


if __name__ == "__main__":
    main()
